#!/usr/bin/python3
"""Drive replicad with pywinrm's kerberos transport (requests-kerberos, which
pywinrm sets to mutual_authentication=REQUIRED) over plain HTTP with message
encryption 'always': every request and reply after the logon is sealed with
MIT GSS-API (gss_wrap_iov/gss_unwrap_iov), as [MS-WSMV] 2.2.9.1.1 says.

Debian's pykerberos (python3-kerberos 1.1.14) lacks the two WinRM calls that
requests-kerberos looks for (authGSSWinRMEncryptMessage/DecryptMessage, from
pykerberos 1.2), so pywinrm would not seal. It has authGSSClientWrapIov and
authGSSClientUnwrapIov, the same MIT gss_wrap_iov/gss_unwrap_iov with the
header, data and padding buffers that the 1.2 calls use, whose output is
already framed as WinRM frames it (header length, header, data); this script
supplies the two calls from them. The credentials come from the ccache in KRB5CCNAME.

usage: sealed_kerberos.py ENDPOINT [MESSAGE_ENCRYPTION]   (default 'always'; 'auto' over HTTPS seals nothing)
Prints one JSON object: the Enumerate reply's items, the Content-Types of
each request and reply, and the final WWW-Authenticate header.
"""
import base64
import json
import struct
import sys

import kerberos
import requests
from winrm.protocol import Protocol

ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/MSISCSITARGET_ReplicationService"


def encrypt(ctx, message):
    """authGSSWinRMEncryptMessage: (sealed data, GSS header)."""
    _, pad = kerberos.authGSSClientWrapIov(ctx, base64.b64encode(message).decode(), 1)
    wrapped = base64.b64decode(kerberos.authGSSClientResponse(ctx))
    if pad:
        raise RuntimeError("gss_wrap_iov padded an AES message by %d bytes" % pad)
    # The iov output comes as the WinRM framing already: the header's length
    # (4 bytes, little-endian), the header, the sealed data.
    header = struct.unpack("<I", wrapped[:4])[0]
    if 4 + header + len(message) != len(wrapped):
        raise RuntimeError("gss_wrap_iov output of %d bytes for a %d-byte message" % (len(wrapped), len(message)))
    return wrapped[4 + header:], wrapped[4:4 + header]


def decrypt(ctx, message, header):
    """authGSSWinRMDecryptMessage: the plaintext of header + sealed data."""
    framed = struct.pack("<I", len(header)) + header + message
    kerberos.authGSSClientUnwrapIov(ctx, base64.b64encode(framed).decode())
    return base64.b64decode(kerberos.authGSSClientResponse(ctx))


if not hasattr(kerberos, "authGSSWinRMEncryptMessage"):
    kerberos.authGSSWinRMEncryptMessage = encrypt
    kerberos.authGSSWinRMDecryptMessage = decrypt

seen = []
send = requests.Session.send


def recording_send(self, request, **kwargs):
    response = send(self, request, **kwargs)
    for r in list(response.history) + [response]:
        seen.append({
            "status": r.status_code,
            "request": r.request.headers.get("Content-Type", ""),
            "requestBody": (r.request.body or b"")[:400].decode("latin-1"),
            "reply": r.headers.get("Content-Type", ""),
            "replyBody": r.content[:400].decode("latin-1"),
            "authenticate": r.headers.get("WWW-Authenticate", ""),
        })
    return response


requests.Session.send = recording_send

proto = Protocol(sys.argv[1], transport="kerberos", message_encryption=(sys.argv[2:] or ["always"])[0],
                 server_cert_validation="ignore")
header = proto._get_soap_header(action=ENUMERATE, resource_uri=URI, message_id="uuid:0AB58087-C2C3-0005-0000-000000010000")
import xmltodict
req = {"env:Envelope": header}
req["env:Envelope"]["env:Body"] = {"n:Enumerate": {"@xmlns:n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration"}}
reply = proto.send_message(xmltodict.unparse(req))
if isinstance(reply, bytes):
    reply = reply.decode()
print(json.dumps({"reply": reply, "exchanges": seen,
                  "encryption": proto.transport.encryption is not None}))
