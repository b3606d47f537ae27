#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the replicad authors
# Apache License 2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: target
short_description: Create, fill, mask or delete a replicad iSCSI target
description:
  - An iSCSI target of replicad's data plane is an C(MSISCSITARGET_SCSIProtocolController) (SMI-S Masking and
    Mapping). This module creates it with C(iSCSIConfigurationService.CreateiSCSINode), maps volumes into it and
    allows initiators with C(ControllerConfigurationService.ExposePaths), takes them away with C(HidePaths), and
    deletes it with C(DeleteProtocolController). Runs on the controller and talks WS-Management through pywinrm.
  - Declarative and idempotent; supports check mode. C(volumes) and C(initiators), when given, are the whole
    list the target ends with; when omitted, that side is left as it is.
options:
  name: {description: "The target's name (lower-case letters, digits, '-', '.'; its IQN is the server's base IQN, ':' and the name).", type: str, required: true}
  volumes: {description: "Volumes (ElementName) the target maps, LUN numbers chosen by the server.", type: list, elements: str}
  initiators: {description: "Initiator iSCSI names (iqn., eui. or naa.) allowed to log in.", type: list, elements: str}
  read_only: {description: "Map the volumes read-only (DeviceAccess 3), e.g. snapshots.", type: bool, default: false}
  state: {description: Whether the target should exist., type: str, choices: [present, absent], default: present}
  url: {description: "Endpoint (env REPLICAD_URL).", type: str, default: "http://127.0.0.1:5985/wsman"}
  user: {description: User (env REPLICAD_USER)., type: str, default: admin}
  password: {description: Password (env REPLICAD_PASSWORD)., type: str}
  validate_certs: {description: Verify the server's TLS certificate., type: bool, default: true}
  timeout: {description: Operation timeout in seconds., type: int, default: 60}
requirements: [pywinrm]
author: [The replicad authors]
"""

EXAMPLES = r"""
- name: Hand the nightly snapshot to the backup host
  replicad.storage.target:
    name: backup
    volumes: [db1-snap]
    initiators: [iqn.1993-08.org.debian:01:backup01]
    read_only: true
    password: "{{ replicad_password }}"

- name: Take it away again
  replicad.storage.target:
    name: backup
    state: absent
    password: "{{ replicad_password }}"
"""

RETURN = r"""
target:
  description: The target as the server shows it (absent after deletion).
  returned: when it exists
  type: dict
  sample: {name: backup, iqn: "iqn.2026-12.local.replicad:backup", luns: [{lun: 1, volume: db1-snap, read_only: true}],
           initiators: [iqn.1993-08.org.debian:01:backup01]}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.replicad.storage.plugins.module_utils.replicad import (
    connect, connection_spec, fail)

SPC = "MSISCSITARGET_SCSIProtocolController"
PCFU = "MSISCSITARGET_ProtocolControllerForUnit"
SUBJECT = "MSISCSITARGET_AuthorizedSubject"
VOLUME = "MSISCSITARGET_StorageVolume"
CONTROLLER = "MSISCSITARGET_ControllerConfigurationService"
ISCSI = "MSISCSITARGET_iSCSIConfigurationService"
READ_WRITE = "2"
READ_ONLY = "3"


def state_of(client, name):
    """The target called name (None when absent), its LUNs and initiators, and the volumes by name."""
    target = None
    for s in client.enumerate(SPC):
        if s.get("DeviceID") == name:
            target = s
    vols = dict((v.get("ElementName"), v) for v in client.enumerate(VOLUME))
    if target is None:
        return None, [], [], vols
    by_id = dict((v.get("DeviceID"), n) for n, v in vols.items())
    luns = []
    for p in client.enumerate(PCFU):
        ant, dep = p.ref("Antecedent"), p.ref("Dependent")
        if ant is None or dep is None or ant.selectors.get("DeviceID") != name:
            continue
        vid = dep.selectors.get("DeviceID")
        luns.append(dict(lun=int(p.get("DeviceNumber", "0") or 0), volume=by_id.get(vid, vid),
                         read_only=p.get("DeviceAccess") == READ_ONLY))
    inits = []
    for s in client.enumerate(SUBJECT):
        priv, elem = s.ref("Privilege"), s.ref("PrivilegedElement")
        if priv is None or elem is None or priv.selectors.get("InstanceID") != "replicad:privilege:" + name:
            continue
        inits.append(elem.selectors.get("InstanceID", "").replace("replicad:hardwareid:", "", 1))
    return target, sorted(luns, key=lambda l: l["lun"]), sorted(inits), vols


def describe(target, luns, inits):
    return dict(name=target.get("DeviceID"), iqn=target.get("Name"), luns=luns, initiators=inits)


def plan(module, luns, inits, vols):
    """What ExposePaths and HidePaths must do: volumes to map (new, or with another access), volumes
    to unmap, initiators to allow and to disallow."""
    p = module.params
    read_only = p["read_only"]
    mapped = dict((l["volume"], l) for l in luns)
    expose, hide = [], []
    if p["volumes"] is not None:
        for v in p["volumes"]:
            if v not in vols:
                module.fail_json(msg="volume %s does not exist" % v)
            if v not in mapped or mapped[v]["read_only"] != read_only:
                expose.append(v)
        hide = [v for v in mapped if v not in p["volumes"]]
    allow, deny = [], []
    if p["initiators"] is not None:
        allow = [i for i in p["initiators"] if i not in inits]
        deny = [i for i in inits if i not in p["initiators"]]
    return expose, hide, allow, deny


def apply(client, module, target, expose, hide, allow, deny, vols):
    svc = client.service(CONTROLLER)
    access = READ_ONLY if module.params["read_only"] else READ_WRITE
    if expose or allow:
        params = [("LUNames", vols[v].get("Name")) for v in expose]
        params += [("DeviceAccesses", access) for _ in expose]
        params += [("InitiatorPortIDs", i) for i in allow]
        params.append(("ProtocolControllers", target.epr))
        client.invoke(svc, "ExposePaths", params)
    if hide or deny:
        params = [("LUNames", vols[v].get("Name")) for v in hide if v in vols]
        params += [("InitiatorPortIDs", i) for i in deny]
        params.append(("ProtocolControllers", target.epr))
        client.invoke(svc, "HidePaths", params)


def main():
    spec = connection_spec()
    spec.update(name=dict(type="str", required=True),
                volumes=dict(type="list", elements="str"),
                initiators=dict(type="list", elements="str"),
                read_only=dict(type="bool", default=False),
                state=dict(type="str", choices=["present", "absent"], default="present"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    name, state = module.params["name"], module.params["state"]
    client = connect(module)
    try:
        target, luns, inits, vols = state_of(client, name)
        if state == "absent":
            if target is None:
                module.exit_json(changed=False)
            if not module.check_mode:
                client.invoke(client.service(CONTROLLER), "DeleteProtocolController",
                              [("ProtocolController", target.epr)])
            module.exit_json(changed=True)
        created = False
        if target is None:
            if module.check_mode:
                module.exit_json(changed=True)
            client.invoke(client.service(ISCSI), "CreateiSCSINode", [("Alias", name)])
            created = True
            target, luns, inits, vols = state_of(client, name)
        expose, hide, allow, deny = plan(module, luns, inits, vols)
        changed = created or bool(expose or hide or allow or deny)
        if module.check_mode or not changed:
            module.exit_json(changed=changed, target=describe(target, luns, inits))
        apply(client, module, target, expose, hide, allow, deny, vols)
        target, luns, inits, vols = state_of(client, name)
        module.exit_json(changed=True, target=describe(target, luns, inits))
    except Exception as e:  # exit_json and fail_json raise SystemExit, not caught here
        fail(module, e)


if __name__ == "__main__":
    main()
