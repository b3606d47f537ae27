#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the replicad authors
# Apache License 2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: replica
short_description: Create, fracture, resync, detach or remove a replicad replica (mirror, snapshot or clone)
description:
  - C(state=present) with C(source_group) calls C(ReplicationService.CreateGroupReplica) with
    C(RelationshipName=name) and C(SourceGroup); with C(source) and C(count) it calls
    C(CreateGroupReplica) with C(SourceElement) and C(TargetElementCount); with C(source) alone
    C(CreateElementReplica) with C(ElementName=name). It waits for the job to finish. An existing
    replica is left in whatever state it is (fractured included).
  - C(state=fractured) fractures an existing replica (C(ModifyReplicaSynchronization) Operation 12);
    C(state=synchronized) resyncs a fractured or split one (Operation 14) and waits for the copy; both
    leave a replica already in that CopyState alone, and fail when the replica does not exist.
  - C(state=detached) ends the relationship and keeps the targets as independent volumes
    (Operation 8); a replica that does not exist (already detached) is not changed.
  - C(state=absent) removes the replica and its targets with
    C(ModifyReplicaSynchronization) Operation 19 (Return To ResourcePool).
  - The replica is found by name (the RelationshipName of a group replica, the target volume of
    an element replica). Idempotent; supports check mode.
  - Every failure, a refusal (with the method, its return value and the server's reason) or a
    connection error, fails the task with C(msg).
options:
  name: {description: Name of the replica (targets of group replicas are NAME_1, NAME_2, ...)., type: str, required: true}
  source: {description: Source volume name., type: str}
  source_group: {description: Source replication group name., type: str}
  type: {description: Kind of copy., type: str, choices: [mirror, snapshot, clone], default: clone}
  mode:
    description:
      - C(Mode) of the create call. Default for a mirror is what the server's
        C(ReplicationServiceCapabilities.SupportedReplicationTypes) offer (synchronous when a
        Synchronous Mirror Local is offered, else asynchronous: replicad offers asynchronous only);
        for snapshots and clones no Mode is sent.
    type: str
    choices: [synchronous, asynchronous]
  count: {description: Number of copies of C(source) (a group replica)., type: int}
  state:
    description: What the replica should be.
    type: str
    choices: [present, absent, fractured, synchronized, detached]
    default: present
  url: {description: "Endpoint (env REPLICAD_URL).", type: str, default: "http://127.0.0.1:5985/wsman"}
  user: {description: User (env REPLICAD_USER)., type: str, default: admin}
  password: {description: Password (env REPLICAD_PASSWORD)., type: str}
  validate_certs: {description: Verify the server's TLS certificate., type: bool, default: true}
  timeout: {description: Operation timeout in seconds., type: int, default: 60}
requirements: [pywinrm]
author: [The replicad authors]
"""

EXAMPLES = r"""
- replicad.storage.replica:
    name: nightly
    source_group: dbs
    type: snapshot
- replicad.storage.replica:
    name: dbmirror
    source: db1
    type: mirror
- replicad.storage.replica:
    name: dbmirror
    state: fractured
- replicad.storage.replica:
    name: dbmirror
    state: synchronized
- replicad.storage.replica:
    name: nightly
    state: absent
"""

RETURN = r"""
replica:
  description: The replica (name, kind, source, target, targets, type, state, percent_synced).
  returned: when it exists
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.replicad.storage.plugins.module_utils.replicad import (
    MODES, OPERATIONS, SYNC_TYPES, connect, connection_spec, default_mode, fail, find_by_name, public, replicas)

# The CopyState a state= value asks for, and the operation that brings it.
TRANSITIONS = {"fractured": ("Fractured", "fracture"), "synchronized": ("Synchronized", "resync")}


def find(client, name):
    found = [r for r in replicas(client) if r["name"] == name]
    groups = [r for r in found if r["kind"] == "group"]
    return (groups or found or [None])[0]


def modify(client, replica, operation):
    svc = client.service("MSISCSITARGET_ReplicationService")
    client.invoke(svc, "ModifyReplicaSynchronization",
                  [("Operation", OPERATIONS[operation]), ("Synchronization", replica["_ref"])])


def change(module, client, existing):
    """state fractured, synchronized, detached or absent: one ModifyReplicaSynchronization."""
    p = module.params
    if p["state"] in ("absent", "detached"):
        if existing is None:
            module.exit_json(changed=False)
        if not module.check_mode:
            modify(client, existing, "return-to-pool" if p["state"] == "absent" else "detach")
        module.exit_json(changed=True, replica=public(existing))
    want, operation = TRANSITIONS[p["state"]]
    if existing is None:
        module.fail_json(msg="replica %s not found: nothing to %s" % (p["name"], operation))
    if existing["state"] == want:
        module.exit_json(changed=False, replica=public(existing))
    if not module.check_mode:
        modify(client, existing, operation)
        existing = find(client, p["name"]) or existing
    module.exit_json(changed=True, replica=public(existing))


def create(module, client):
    """state present for a replica that does not exist: CreateElementReplica or CreateGroupReplica."""
    p = module.params
    if not p["source"] and not p["source_group"]:
        module.fail_json(msg="creating replica %s needs source or source_group" % p["name"])
    if p["count"] is not None and p["count"] < 1:
        module.fail_json(msg="count must be at least 1")
    if p["source_group"]:
        g = find_by_name(client.enumerate("MSISCSITARGET_ReplicationGroup"), p["source_group"], "InstanceID")
        if g is None:
            if module.check_mode:
                # An earlier task of the same play may create it.
                module.warn("group %r does not exist (yet); in check mode the replica is reported as changed" % p["source_group"])
                module.exit_json(changed=True)
            module.fail_json(msg="group %r not found" % p["source_group"])
        method = "CreateGroupReplica"
        params = [("RelationshipName", p["name"]), ("SyncType", SYNC_TYPES[p["type"]]), ("SourceGroup", g.epr)]
    else:
        v = find_by_name(client.enumerate("MSISCSITARGET_StorageVolume"), p["source"], "DeviceID")
        if v is None:
            if module.check_mode:
                # An earlier task of the same play may create it.
                module.warn("volume %r does not exist (yet); in check mode the replica is reported as changed" % p["source"])
                module.exit_json(changed=True)
            module.fail_json(msg="volume %r not found" % p["source"])
        if p["count"]:
            method = "CreateGroupReplica"
            params = [("RelationshipName", p["name"]), ("SyncType", SYNC_TYPES[p["type"]]),
                      ("SourceElement", v.epr), ("TargetElementCount", p["count"])]
        else:
            method = "CreateElementReplica"
            params = [("ElementName", p["name"]), ("SyncType", SYNC_TYPES[p["type"]]), ("SourceElement", v.epr)]
    mode = MODES[p["mode"]] if p["mode"] else default_mode(client, p["type"])
    if mode is not None:
        params.append(("Mode", mode))
    if module.check_mode:
        module.exit_json(changed=True)
    svc = client.service("MSISCSITARGET_ReplicationService")
    client.invoke(svc, method, params)
    created = find(client, p["name"])
    module.exit_json(changed=True, replica=public(created) if created else None)


def main():
    spec = connection_spec()
    spec.update(name=dict(type="str", required=True), source=dict(type="str"), source_group=dict(type="str"),
                type=dict(type="str", choices=list(SYNC_TYPES), default="clone"), count=dict(type="int"),
                mode=dict(type="str", choices=list(MODES)),
                state=dict(type="str", choices=["present", "absent", "fractured", "synchronized", "detached"],
                           default="present"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[("source", "source_group"), ("count", "source_group")])
    p = module.params
    client = connect(module)
    try:
        existing = find(client, p["name"])
        if p["state"] != "present":
            change(module, client, existing)
        if existing is not None:
            if existing["type"] != p["type"]:
                module.fail_json(msg="replica %s exists as a %s, not a %s" % (p["name"], existing["type"], p["type"]))
            module.exit_json(changed=False, replica=public(existing))
        create(module, client)
    except Exception as e:  # exit_json and fail_json raise SystemExit, not caught here
        fail(module, e)


if __name__ == "__main__":
    main()
