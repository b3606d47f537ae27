#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the replicad authors
# Apache License 2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: replica_info
short_description: List replicad replicas
description:
  - Enumerates C(StorageSynchronized) and C(GroupSynchronized) and returns each replica with the names
    of its source and targets. Never changes anything.
options:
  url: {description: "Endpoint (env REPLICAD_URL).", type: str, default: "http://127.0.0.1:5985/wsman"}
  user: {description: User (env REPLICAD_USER)., type: str, default: admin}
  password: {description: Password (env REPLICAD_PASSWORD)., type: str}
  validate_certs: {description: Verify the server's TLS certificate., type: bool, default: true}
  timeout: {description: Operation timeout in seconds., type: int, default: 60}
requirements: [pywinrm]
author: [The replicad authors]
"""

EXAMPLES = r"""
- replicad.storage.replica_info:
  register: r
- debug: var=r.replicas
"""

RETURN = r"""
replicas:
  description: Every replica (name, kind, source, target, targets, type, state, percent_synced).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.replicad.storage.plugins.module_utils.replicad import (
    connect, connection_spec, fail, public, replicas)


def main():
    module = AnsibleModule(argument_spec=connection_spec(), supports_check_mode=True)
    client = connect(module)
    try:
        module.exit_json(changed=False, replicas=[public(r) for r in replicas(client)])
    except Exception as e:  # exit_json and fail_json raise SystemExit, not caught here
        fail(module, e)


if __name__ == "__main__":
    main()
