#!/usr/bin/python3
"""A refused call seen through pywinrm's own Protocol and transport: asks the
storage configuration service for a volume named "../escape" and prints one
JSON object with the ReturnValue, the ExtendedStatus CIM_Error (its xsi:type
and properties) and the raw Method_OUTPUT.

usage: refusal.py ENDPOINT USER PASSWORD
"""
import json
import sys
import uuid
import xml.etree.ElementTree as ET

import xmltodict
from winrm.protocol import Protocol

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/"
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"


def envelope(proto, action, uri, body, selectors=None):
    header = proto._get_soap_header(action=action, resource_uri=uri, message_id=uuid.uuid4())
    if selectors:
        header["env:Header"]["w:SelectorSet"] = {
            "w:Selector": [{"@Name": k, "#text": v} for k, v in selectors.items()]}
    req = {"env:Envelope": header}
    req["env:Envelope"]["env:Body"] = "@@BODY@@"
    return xmltodict.unparse(req).replace("@@BODY@@", body)


def local(tag):
    return tag.rsplit("}", 1)[-1]


def main():
    endpoint, user, password = sys.argv[1:4]
    proto = Protocol(endpoint=endpoint, transport="basic", username=user, password=password,
                     message_encryption="never", server_cert_validation="ignore")
    cls = "MSISCSITARGET_StorageConfigurationService"
    uri = WMI + cls
    root = ET.fromstring(proto.send_message(envelope(proto, ENUMERATE, uri, "<n:Enumerate/>")))
    ctx = root.find(".//n:EnumerationContext", NS).text
    body = "<n:Pull><n:EnumerationContext>%s</n:EnumerationContext></n:Pull>" % ctx
    root = ET.fromstring(proto.send_message(envelope(proto, PULL, uri, body)))
    svc = root.find(".//n:Items", NS)[0]
    sels = {local(c.tag): c.text for c in svc
            if local(c.tag) in ("SystemCreationClassName", "SystemName", "CreationClassName", "Name")}
    method = "CreateOrModifyElementFromStoragePool"
    body = ('<q:%s_INPUT xmlns:q="%s"><q:ElementName>../escape</q:ElementName><q:ElementType>5</q:ElementType>'
            '<q:Size>1048576</q:Size></q:%s_INPUT>' % (method, uri, method))
    raw = proto.send_message(envelope(proto, uri + "/" + method, uri, body, sels))
    out = ET.fromstring(raw).find("s:Body/*", NS)
    status = out.find("{*}ExtendedStatus")
    result = {"returnValue": out.find("{*}ReturnValue").text, "output": ET.tostring(out, encoding="unicode")}
    if status is not None:
        result["type"] = status.get("{%s}type" % NS["xsi"])
        result["error"] = {local(c.tag): c.text for c in status}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
