#!/usr/bin/python3
"""Drive replicad with pywinrm's own Protocol and transport (Basic over HTTP,
message_encryption='never'): Identify, Enumerate + Pull, and the Invokes that
create two volumes, a group and a CreateGroupReplica clone of it; then poll
the job with Get. Prints one JSON object with what the answers said.

usage: replicate.py ENDPOINT USER PASSWORD
"""
import json
import sys
import time
import uuid
import xml.etree.ElementTree as ET

import xmltodict
from winrm.exceptions import WinRMError
from winrm.protocol import Protocol

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
}
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/"
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"


def envelope(proto, action, uri, body, selectors=None):
    """Builds a message from pywinrm's own header, as its run_command does."""
    header = proto._get_soap_header(action=action, resource_uri=uri, message_id=uuid.uuid4())
    if selectors:
        header["env:Header"]["w:SelectorSet"] = {
            "w:Selector": [{"@Name": k, "#text": v} for k, v in selectors.items()]}
    req = {"env:Envelope": header}
    req["env:Envelope"]["env:Body"] = "@@BODY@@"
    return xmltodict.unparse(req).replace("@@BODY@@", body)


def send(proto, message):
    return ET.fromstring(proto.send_message(message))


def local(tag):
    return tag.rsplit("}", 1)[-1]


def props(elem):
    """Instance element -> {property: text, or a list of them, or an EPR's selectors}."""
    out = {}
    for c in elem:
        name = local(c.tag)
        sels = c.findall(".//w:Selector", NS)
        value = {s.get("Name"): s.text for s in sels} if sels else (c.text or "")
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def epr_xml(elem):
    """The EPR children (Address, ReferenceParameters) of an out-parameter, re-serialised."""
    return "".join(ET.tostring(c, encoding="unicode") for c in elem)


def enumerate_all(proto, cls):
    """Plain WS-Enumeration: Enumerate returns a context, Pull the items."""
    uri = WMI + cls
    root = send(proto, envelope(proto, ENUMERATE, uri, '<n:Enumerate/>'))
    ctx = root.find(".//n:EnumerationContext", NS).text
    items, pulls = [], 0
    while True:
        body = '<n:Pull><n:EnumerationContext>%s</n:EnumerationContext><n:MaxElements>1</n:MaxElements></n:Pull>' % ctx
        root = send(proto, envelope(proto, PULL, uri, body))
        pulls += 1
        for it in root.find(".//n:Items", NS):
            items.append(props(it))
        if root.find(".//n:EndOfSequence", NS) is not None:
            return items, pulls
        ctx = root.find(".//n:EnumerationContext", NS).text


def invoke(proto, cls, method, selectors, params_xml):
    uri = WMI + cls
    body = '<q:%s_INPUT xmlns:q="%s">%s</q:%s_INPUT>' % (method, uri, params_xml, method)
    root = send(proto, envelope(proto, uri + "/" + method, uri, body, selectors))
    out = root.find("s:Body/*", NS)
    return out


def main():
    endpoint, user, password = sys.argv[1:4]
    proto = Protocol(endpoint=endpoint, transport="basic", username=user, password=password,
                     message_encryption="never", server_cert_validation="ignore")
    result = {}

    # Identify: no ResourceURI, no Action; pywinrm's transport sends it as is.
    root = send(proto, '<s:Envelope xmlns:s="%s" xmlns:wsmid="%s"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>'
                % (NS["s"], NS["wsmid"]))
    result["protocolVersion"] = root.find(".//wsmid:ProtocolVersion", NS).text
    result["productVendor"] = root.find(".//wsmid:ProductVendor", NS).text

    services, pulls = enumerate_all(proto, "MSISCSITARGET_StorageConfigurationService")
    result["configServices"] = len(services)
    scs = {k: services[0][k] for k in ("SystemCreationClassName", "SystemName", "CreationClassName", "Name")}
    repl, _ = enumerate_all(proto, "MSISCSITARGET_ReplicationService")
    rs = {k: repl[0][k] for k in ("SystemCreationClassName", "SystemName", "CreationClassName", "Name")}

    vols = []
    for name in ("py1", "py2"):
        out = invoke(proto, "MSISCSITARGET_StorageConfigurationService", "CreateOrModifyElementFromStoragePool", scs,
                     "<q:ElementName>%s</q:ElementName><q:ElementType>5</q:ElementType><q:Size>1048576</q:Size>" % name)
        rv = out.find("{*}ReturnValue").text
        vols.append(epr_xml(out.find("{*}TheElement")))
        result.setdefault("createVolume", []).append(rv)
    volumes, pulls = enumerate_all(proto, "MSISCSITARGET_StorageVolume")
    result["volumes"] = sorted(v["ElementName"] for v in volumes)
    result["volumePulls"] = pulls

    members = "".join("<q:Members>%s</q:Members>" % v for v in vols)
    out = invoke(proto, "MSISCSITARGET_ReplicationService", "CreateGroup", rs, "<q:GroupName>pyg</q:GroupName>" + members)
    result["createGroup"] = out.find("{*}ReturnValue").text
    group = epr_xml(out.find("{*}ReplicationGroup"))

    out = invoke(proto, "MSISCSITARGET_ReplicationService", "CreateGroupReplica", rs,
                 "<q:RelationshipName>pyrel</q:RelationshipName><q:SyncType>8</q:SyncType><q:SourceGroup>%s</q:SourceGroup>" % group)
    result["createGroupReplica"] = out.find("{*}ReturnValue").text
    job = out.find("{*}Job")
    if job is not None:
        sels = {s.get("Name"): s.text for s in job.findall(".//w:Selector", NS)}
        uri = job.find(".//w:ResourceURI", NS).text
        for _ in range(240):
            inst = send(proto, envelope(proto, GET, uri, "", sels)).find("s:Body/*", NS)
            state = props(inst)
            if state.get("JobState") in ("7", "8", "9", "10"):
                break
            time.sleep(0.25)
        result["jobState"] = state.get("JobState")
        result["percentComplete"] = state.get("PercentComplete")
        result["operationalStatus"] = state.get("OperationalStatus")

    # A fault comes back as pywinrm's WinRMError.
    try:
        enumerate_all(proto, "MSISCSITARGET_NoSuchClass")
        result["fault"] = None
    except WinRMError as e:
        result["fault"] = str(e)

    print(json.dumps(result))


if __name__ == "__main__":
    main()
