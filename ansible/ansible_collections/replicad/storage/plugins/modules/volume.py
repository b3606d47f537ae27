#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the replicad authors
# Apache License 2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: volume
short_description: Create or delete a replicad volume
description:
  - Creates a sparse image volume in the default pool with
    C(StorageConfigurationService.CreateOrModifyElementFromStoragePool), or deletes it with
    C(ReturnToStoragePool). Runs on the controller and talks WS-Management through pywinrm.
  - Idempotent; supports check mode. An existing volume of another size is left alone, with a warning.
options:
  name: {description: The volume's ElementName., type: str, required: true}
  size: {description: "Size in bytes, or with a K, M, G or T suffix (powers of 1024). Required for C(present).", type: str}
  state: {description: Whether the volume should exist., type: str, choices: [present, absent], default: present}
  url: {description: "Endpoint (env REPLICAD_URL).", type: str, default: "http://127.0.0.1:5985/wsman"}
  user: {description: User (env REPLICAD_USER)., type: str, default: admin}
  password: {description: Password (env REPLICAD_PASSWORD)., type: str}
  validate_certs: {description: Verify the server's TLS certificate., type: bool, default: true}
  timeout: {description: Operation timeout in seconds., type: int, default: 60}
requirements: [pywinrm]
author: [The replicad authors]
"""

EXAMPLES = r"""
- replicad.storage.volume:
    name: db1
    size: 10G
    url: http://127.0.0.1:5985/wsman
    password: "{{ replicad_password }}"
"""

RETURN = r"""
volume:
  description: The volume as the server shows it (absent after deletion).
  returned: when it exists
  type: dict
  sample: {name: db1, device_id: 4f0c..., size: 10737418240, path: /var/lib/replicad/pools/default/db1.img}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.replicad.storage.plugins.module_utils.replicad import (
    connect, connection_spec, fail, find_by_name)

VOLUME = "MSISCSITARGET_StorageVolume"


def parse_size(s):
    s = str(s).strip().upper()
    for suffix in ("IB", "B"):
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[:-len(suffix)]
            break
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(s[-1:], 1)
    if mult > 1:
        s = s[:-1]
    n = int(s) * mult
    if n <= 0:
        raise ValueError("size must be positive")
    return n


def describe(v):
    size = int(v.get("BlockSize", "0") or 0) * int(v.get("NumberOfBlocks", "0") or 0)
    return dict(name=v.get("ElementName"), device_id=v.get("DeviceID"), size=size, path=v.get("MSDevicePath"))


def main():
    spec = connection_spec()
    spec.update(name=dict(type="str", required=True), size=dict(type="str"),
                state=dict(type="str", choices=["present", "absent"], default="present"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[("state", "present", ["size"])])
    name, state = module.params["name"], module.params["state"]
    size = None
    if state == "present":
        try:
            size = parse_size(module.params["size"])
        except ValueError as e:
            module.fail_json(msg="size %r: %s" % (module.params["size"], e))
    client = connect(module)
    try:
        vol = find_by_name(client.enumerate(VOLUME), name, "DeviceID")
        if state == "present":
            if vol is not None:
                d = describe(vol)
                if d["size"] != size:
                    module.warn("volume %s exists with %d bytes, not %d; it is left as it is" % (name, d["size"], size))
                module.exit_json(changed=False, volume=d)
            if module.check_mode:
                module.exit_json(changed=True)
            svc = client.service("MSISCSITARGET_StorageConfigurationService")
            client.invoke(svc, "CreateOrModifyElementFromStoragePool",
                          [("ElementName", name), ("ElementType", 5), ("Size", size)])
            vol = find_by_name(client.enumerate(VOLUME), name, "DeviceID")
            module.exit_json(changed=True, volume=describe(vol) if vol else None)
        if vol is None:
            module.exit_json(changed=False)
        if module.check_mode:
            module.exit_json(changed=True)
        svc = client.service("MSISCSITARGET_StorageConfigurationService")
        client.invoke(svc, "ReturnToStoragePool", [("TheElement", vol.epr)])
        module.exit_json(changed=True)
    except Exception as e:  # exit_json and fail_json raise SystemExit, not caught here
        fail(module, e)


if __name__ == "__main__":
    main()
