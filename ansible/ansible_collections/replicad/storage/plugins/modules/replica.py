#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the replicad authors
# Apache License 2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: replica
short_description: Create or remove a replicad replica (mirror, snapshot or clone)
description:
  - C(state=present) with C(source_group) calls C(ReplicationService.CreateGroupReplica) with
    C(RelationshipName=name) and C(SourceGroup); with C(source) and C(count) it calls
    C(CreateGroupReplica) with C(SourceElement) and C(TargetElementCount); with C(source) alone
    C(CreateElementReplica) with C(ElementName=name). It waits for the job to finish.
  - C(state=absent) removes the replica and its targets with
    C(ModifyReplicaSynchronization) Operation 19 (Return To ResourcePool).
  - The replica is found by name (the RelationshipName of a group replica, the target volume of
    an element replica). Idempotent; supports check mode.
options:
  name: {description: Name of the replica (targets of group replicas are NAME_1, NAME_2, ...)., type: str, required: true}
  source: {description: Source volume name., type: str}
  source_group: {description: Source replication group name., type: str}
  type: {description: Kind of copy., type: str, choices: [mirror, snapshot, clone], default: clone}
  count: {description: Number of copies of C(source) (a group replica)., type: int}
  state: {description: Whether the replica should exist., type: str, choices: [present, absent], default: present}
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
    RETURN_TO_RESOURCE_POOL, SYNC_TYPES, ReplicadError, connect, connection_spec, find_by_name, public, replicas)


def find(client, name):
    found = [r for r in replicas(client) if r["name"] == name]
    groups = [r for r in found if r["kind"] == "group"]
    return (groups or found or [None])[0]


def main():
    spec = connection_spec()
    spec.update(name=dict(type="str", required=True), source=dict(type="str"), source_group=dict(type="str"),
                type=dict(type="str", choices=list(SYNC_TYPES), default="clone"), count=dict(type="int"),
                state=dict(type="str", choices=["present", "absent"], default="present"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[("source", "source_group"), ("count", "source_group")])
    p = module.params
    client = connect(module)
    try:
        existing = find(client, p["name"])
        if p["state"] == "absent":
            if existing is None:
                module.exit_json(changed=False)
            if not module.check_mode:
                svc = client.service("MSISCSITARGET_ReplicationService")
                client.invoke(svc, "ModifyReplicaSynchronization",
                              [("Operation", RETURN_TO_RESOURCE_POOL), ("Synchronization", existing["_ref"])])
            module.exit_json(changed=True, replica=public(existing))
        if existing is not None:
            if existing["type"] != p["type"]:
                module.fail_json(msg="replica %s exists as a %s, not a %s" % (p["name"], existing["type"], p["type"]))
            module.exit_json(changed=False, replica=public(existing))
        if not p["source"] and not p["source_group"]:
            module.fail_json(msg="creating replica %s needs source or source_group" % p["name"])
        if p["count"] is not None and p["count"] < 1:
            module.fail_json(msg="count must be at least 1")
        params = []
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
        if p["type"] == "mirror":
            # replicad keeps Asynchronous mirrors only (Mode 3); without a
            # Mode it answers 1 Not Supported.
            params.append(("Mode", 3))
        if module.check_mode:
            module.exit_json(changed=True)
        svc = client.service("MSISCSITARGET_ReplicationService")
        client.invoke(svc, method, params)
        created = find(client, p["name"])
        module.exit_json(changed=True, replica=public(created) if created else None)
    except ReplicadError as e:
        module.fail_json(msg=str(e))


if __name__ == "__main__":
    main()
