#!/usr/bin/python3
"""Drive replicad with pywinrm (Debian python3-winrm), as a Windows admin's
script would, and report what happened as JSON on stdout.

Input, a JSON object on stdin:
  endpoint, transport (ntlm|basic|ssl|kerberos|certificate), username, password,
  cert_pem and cert_key_pem (files, for the certificate transport),
  send_cbt (optional, default true: channel bindings over HTTPS),
  message_encryption (auto|never|always), messages (list of SOAP envelopes),
  tamper (optional: flip one sealed byte of the message at this index).
Output: {"encrypted": bool, "replies": [{"status": int, "body": str}],
         "content_types": [str]} — status 200 for a reply, 500 for a fault,
  401 when the credentials or the message were refused.
The password never appears on the command line.
"""
import json
import sys

import winrm  # noqa: F401  (fails early when python3-winrm is missing)
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError
from winrm.protocol import Protocol


def main():
    cfg = json.load(sys.stdin)
    p = Protocol(
        endpoint=cfg["endpoint"],
        transport=cfg["transport"],
        username=cfg.get("username"),
        password=cfg.get("password"),
        message_encryption=cfg.get("message_encryption", "auto"),
        server_cert_validation="ignore",
        kerberos_hostname_override=cfg.get("kerberos_hostname_override"),
        cert_pem=cfg.get("cert_pem"),
        cert_key_pem=cfg.get("cert_key_pem"),
        send_cbt=cfg.get("send_cbt", True),
    )
    out = {"encrypted": False, "replies": [], "content_types": []}
    t = p.transport
    try:
        t.build_session()
    except InvalidCredentialsError:
        out["replies"].append({"status": 401, "body": ""})
        print(json.dumps(out))
        return
    out["encrypted"] = t.encryption is not None
    t.session.hooks["response"].append(
        lambda r, *a, **k: out["content_types"].append(r.headers.get("Content-Type", "")))
    for i, msg in enumerate(cfg["messages"]):
        if cfg.get("tamper") == i and t.encryption is not None:
            build = t.encryption._build_message

            def tampered(message, host, build=build):
                sealed = bytearray(build(message, host))
                sealed[-1] ^= 0x01
                return bytes(sealed)
            t.encryption._build_message = tampered
        try:
            body = p.send_message(msg)
            out["replies"].append({"status": 200, "body": body.decode("utf-8") if isinstance(body, bytes) else body})
        except InvalidCredentialsError:
            out["replies"].append({"status": 401, "body": ""})
        except WinRMTransportError as e:
            text = e.response_text
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            out["replies"].append({"status": e.code, "body": text})
        except WinRMError as e:  # a SOAP fault, which pywinrm parsed
            out["replies"].append({"status": 500, "body": "Fault: %s" % e})
        except Exception as e:  # connection reset and the like
            out["replies"].append({"status": -1, "body": "%s: %s" % (type(e).__name__, e)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
