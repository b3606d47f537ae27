#!/usr/bin/env bash
# Installs what `make test` needs on a fresh machine: Go modules and the real
# WinRM clients the integration tests drive (Debian's python3-winrm and wsl), and
# xfsprogs for the reflink tests on a loop-mounted XFS.
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download

need=()
/usr/bin/python3 -c 'import winrm' 2>/dev/null || need+=(python3-winrm)
command -v wsl >/dev/null 2>&1 || need+=(wsl)
[[ -x /usr/sbin/krb5kdc && -x /usr/sbin/kadmin.local ]] || need+=(krb5-kdc krb5-admin-server) # integration/kerberos_test.go
{ /usr/bin/python3 -c 'import requests_kerberos' 2>/dev/null && command -v kinit >/dev/null 2>&1; } || need+=(python3-requests-kerberos krb5-user) # pywinrm's kerberos transport, kinit
# wsl's helpers: uuidgen for message IDs, xmllint and curl.
command -v uuidgen >/dev/null 2>&1 || need+=(uuid-runtime)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
command -v curl >/dev/null 2>&1 || need+=(curl)
[[ -x /usr/sbin/mkfs.xfs ]] || need+=(xfsprogs) # replica/engine/reflink_test.go: a reflink filesystem
command -v ansible-playbook >/dev/null 2>&1 || need+=(ansible-core)
command -v wbemcli >/dev/null 2>&1 || need+=(sblim-wbemcli) # issue 21: a CIM-XML client for integration/cimxml_*_test.go
# issue 18: replicad's own tgtd, and real initiators for integration/iscsi_*_test.go
[[ -x /usr/sbin/tgtd && -x /usr/sbin/tgtadm ]] || need+=(tgt)
command -v iscsi-readcapacity16 >/dev/null 2>&1 || need+=(libiscsi-bin) # iscsi-ls, iscsi-inq, iscsi-readcapacity16
{ command -v qemu-io >/dev/null 2>&1 && ls /usr/lib/*/qemu/block-iscsi.so >/dev/null 2>&1; } || need+=(qemu-block-extra qemu-utils) # qemu-io with iscsi://
if ((${#need[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "test-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || true
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
