#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the replicad authors
# Apache License 2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: group
short_description: Create, change or delete a replicad replication group
description:
  - Creates a C(ReplicationGroup) with C(ReplicationService.CreateGroup), brings its members to the
    given list with C(AddMembers) and C(RemoveMembers), or deletes it with C(DeleteGroup) (members are
    volumes and are kept).
  - Idempotent; supports check mode. Every member name is resolved before anything changes.
options:
  name: {description: The group's ElementName., type: str, required: true}
  members: {description: Volume names, in order., type: list, elements: str, default: []}
  state: {description: Whether the group should exist., type: str, choices: [present, absent], default: present}
  url: {description: "Endpoint (env REPLICAD_URL).", type: str, default: "http://127.0.0.1:5985/wsman"}
  user: {description: User (env REPLICAD_USER)., type: str, default: admin}
  password: {description: Password (env REPLICAD_PASSWORD)., type: str}
  validate_certs: {description: Verify the server's TLS certificate., type: bool, default: true}
  timeout: {description: Operation timeout in seconds., type: int, default: 60}
requirements: [pywinrm]
author: [The replicad authors]
"""

EXAMPLES = r"""
- replicad.storage.group:
    name: dbs
    members: [db1, db2]
"""

RETURN = r"""
members:
  description: The group's members after the change.
  returned: state is present
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.replicad.storage.plugins.module_utils.replicad import (
    connect, connection_spec, fail, find_by_name)


def main():
    spec = connection_spec()
    spec.update(name=dict(type="str", required=True), members=dict(type="list", elements="str", default=[]),
                state=dict(type="str", choices=["present", "absent"], default="present"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    name, state, want = module.params["name"], module.params["state"], module.params["members"]
    client = connect(module)
    try:
        group = find_by_name(client.enumerate("MSISCSITARGET_ReplicationGroup"), name, "InstanceID")
        volumes = client.enumerate("MSISCSITARGET_StorageVolume")
        if state == "absent":
            if group is None:
                module.exit_json(changed=False)
            if not module.check_mode:
                svc = client.service("MSISCSITARGET_ReplicationService")
                client.invoke(svc, "DeleteGroup", [("ReplicationGroup", group.epr), ("RemoveElements", "true")])
            module.exit_json(changed=True)
        refs = {}
        for m in want:
            v = find_by_name(volumes, m, "DeviceID")
            if v is None:
                if module.check_mode:
                    # An earlier task of the same play may create it.
                    module.warn("volume %r does not exist (yet); in check mode the group is reported as changed" % m)
                    module.exit_json(changed=True, members=want)
                module.fail_json(msg="volume %r not found" % m)
            refs[m] = v.epr
        if group is None:
            if not module.check_mode:
                svc = client.service("MSISCSITARGET_ReplicationService")
                params = [("GroupName", name)] + [("Members", refs[m]) for m in want] + [("Persistent", "true")]
                client.invoke(svc, "CreateGroup", params)
            module.exit_json(changed=True, members=want)
        byid = dict((v.get("DeviceID"), v.get("ElementName")) for v in volumes)
        have = []
        for rel in client.enumerate("MSISCSITARGET_OrderedMemberOfCollection"):
            coll, mem = rel.ref("Collection"), rel.ref("Member")
            if coll and mem and coll.key() == group.get("InstanceID"):
                have.append(byid.get(mem.key(), mem.key()))
        add = [m for m in want if m not in have]
        remove = [m for m in have if m not in want]
        if not add and not remove:
            module.exit_json(changed=False, members=have)
        if not module.check_mode:
            svc = client.service("MSISCSITARGET_ReplicationService")
            if add:
                client.invoke(svc, "AddMembers", [("Members", refs[m]) for m in add] + [("ReplicationGroup", group.epr)])
            if remove:
                gone = [find_by_name(volumes, m, "DeviceID").epr for m in remove]
                client.invoke(svc, "RemoveMembers", [("Members", r) for r in gone] + [("ReplicationGroup", group.epr)])
        module.exit_json(changed=True, members=want, added=add, removed=remove)
    except Exception as e:  # exit_json and fail_json raise SystemExit, not caught here
        fail(module, e)


if __name__ == "__main__":
    main()
