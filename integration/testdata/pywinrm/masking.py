#!/usr/bin/python3
"""Drive replicad's SMI-S Masking and Mapping classes with pywinrm's own
Protocol and transport (Basic over HTTP, message_encryption='never'), one
phase per run; prints one JSON object with what the answers said.

usage: masking.py ENDPOINT USER PASSWORD PHASE INITIATOR_A

phases:
  setup   create volumes m1 (12 MiB) and m2 (4 MiB), CreateStorageHardwareID A,
          CreateiSCSINode "pytarget", ExposePaths m1 at LUN 3 read-write to A
          into it, then m2 at LUN 4 read-only; read the model back
          (association filters, WQL) and try two bad calls
  hide    HidePaths m1 from the target; a second HidePaths of m1 (not exposed);
          ReturnToStoragePool of m2 (exposed)
  revoke  DeleteStorageHardwareID A (it leaves the mask)
  delete  DeleteProtocolController of the target
"""
import json
import sys
import uuid
import xml.etree.ElementTree as ET

import xmltodict
from winrm.protocol import Protocol

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "b": "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd",
}
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/storage/iscsitarget/"
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
ASSOC = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
ADDRESS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"


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
    """Instance element -> {property: text, a list of them, or an EPR's selectors}."""
    out = {"__class": local(elem.tag)}
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


def enumerate_all(proto, uri, filter_xml="", selectors=None):
    """WS-Enumeration with an optional filter: Enumerate, then Pull."""
    root = send(proto, envelope(proto, ENUMERATE, uri, "<n:Enumerate>%s</n:Enumerate>" % filter_xml, selectors))
    ctx = root.find(".//n:EnumerationContext", NS).text
    items = []
    while True:
        body = "<n:Pull><n:EnumerationContext>%s</n:EnumerationContext><n:MaxElements>10</n:MaxElements></n:Pull>" % ctx
        root = send(proto, envelope(proto, PULL, uri, body, selectors))
        for it in root.find(".//n:Items", NS):
            items.append(props(it))
        if root.find(".//n:EndOfSequence", NS) is not None:
            return items
        ctx = root.find(".//n:EnumerationContext", NS).text


def epr(cls, selectors):
    """An EPR (Address, ReferenceParameters) for an instance of cls."""
    sels = "".join('<w:Selector Name="%s">%s</w:Selector>' % (k, v) for k, v in selectors.items())
    return ('<a:Address xmlns:a="%s">%s</a:Address><a:ReferenceParameters xmlns:a="%s" xmlns:w="%s">'
            '<w:ResourceURI>%s</w:ResourceURI><w:SelectorSet>%s</w:SelectorSet></a:ReferenceParameters>'
            % (NS["a"], ADDRESS, NS["a"], NS["w"], WMI + cls, sels))


def associated(proto, cls, selectors, assoc_class, instances=False):
    """An association filter enumeration from an instance (DSP0227 §8.2)."""
    kind = "AssociationInstances" if instances else "AssociatedInstances"
    f = ('<w:Filter xmlns:w="%s" xmlns:b="%s" Dialect="%s"><b:%s><b:Object>%s</b:Object>'
         '<b:AssociationClassName>%s</b:AssociationClassName></b:%s></w:Filter>'
         % (NS["w"], NS["b"], ASSOC, kind, epr(cls, selectors), assoc_class, kind))
    return enumerate_all(proto, "http://schemas.dmtf.org/wbem/wscim/1/*", f,
                         {"__cimnamespace": "root/cimv2/storage/iscsitarget"})


def invoke(proto, cls, method, selectors, params_xml):
    uri = WMI + cls
    body = '<q:%s_INPUT xmlns:q="%s">%s</q:%s_INPUT>' % (method, uri, params_xml, method)
    out = send(proto, envelope(proto, uri + "/" + method, uri, body, selectors)).find("s:Body/*", NS)
    res = props(out)
    status = out.find("{*}ExtendedStatus")
    res["reason"] = "" if status is None else "".join(m.text or "" for m in status.iter() if local(m.tag) == "Message")
    return res, out


def service(proto, cls):
    s = enumerate_all(proto, WMI + cls)[0]
    return {k: s[k] for k in ("SystemCreationClassName", "SystemName", "CreationClassName", "Name")}


def spc(proto):
    for s in enumerate_all(proto, WMI + "MSISCSITARGET_SCSIProtocolController"):
        if s["ElementName"] == "pytarget":
            return s, {k: s[k] for k in ("SystemCreationClassName", "SystemName", "CreationClassName", "DeviceID")}
    return None, None


def volume_name(proto, element_name):
    for v in enumerate_all(proto, WMI + "MSISCSITARGET_StorageVolume"):
        if v["ElementName"] == element_name:
            return v["Name"]
    raise SystemExit("no volume " + element_name)


def q(name, *values):
    return "".join("<q:%s>%s</q:%s>" % (name, v, name) for v in values)


def setup(proto, a):
    r = {}
    scs = service(proto, "MSISCSITARGET_StorageConfigurationService")
    for name, size in (("m1", 12 << 20), ("m2", 4 << 20)):
        res, _ = invoke(proto, "MSISCSITARGET_StorageConfigurationService", "CreateOrModifyElementFromStoragePool", scs,
                        q("ElementName", name) + q("ElementType", 5) + q("Size", size))
        r.setdefault("createVolume", []).append(res["ReturnValue"])
    hw = service(proto, "MSISCSITARGET_StorageHardwareIDManagementService")
    res, _ = invoke(proto, "MSISCSITARGET_StorageHardwareIDManagementService", "CreateStorageHardwareID", hw,
                    q("ElementName", "host a") + q("StorageID", a) + q("IDType", 5))
    r["createHardwareID"] = res["ReturnValue"]
    isc = service(proto, "MSISCSITARGET_iSCSIConfigurationService")
    res, out = invoke(proto, "MSISCSITARGET_iSCSIConfigurationService", "CreateiSCSINode", isc, q("Alias", "pytarget"))
    r["createNode"] = res["ReturnValue"]
    node = "".join(ET.tostring(c, encoding="unicode") for c in out.find("{*}iSCSINode"))
    ccs = service(proto, "MSISCSITARGET_ControllerConfigurationService")
    m1, m2 = volume_name(proto, "m1"), volume_name(proto, "m2")
    res, _ = invoke(proto, "MSISCSITARGET_ControllerConfigurationService", "ExposePaths", ccs,
                    q("LUNames", m1) + q("InitiatorPortIDs", a) + q("DeviceNumbers", "3") + q("DeviceAccesses", 2)
                    + q("ProtocolControllers", node))
    r["expose"] = res["ReturnValue"]
    r["exposeControllers"] = res.get("ProtocolControllers", {}).get("DeviceID") if isinstance(res.get("ProtocolControllers"), dict) else None
    res, _ = invoke(proto, "MSISCSITARGET_ControllerConfigurationService", "ExposePaths", ccs,
                    q("LUNames", m2) + q("DeviceNumbers", "4") + q("DeviceAccesses", 3) + q("ProtocolControllers", node))
    r["exposeReadOnly"] = res["ReturnValue"]
    # Refusals: a malformed initiator name; a LUN number already in use.
    res, _ = invoke(proto, "MSISCSITARGET_ControllerConfigurationService", "ExposePaths", ccs,
                    q("InitiatorPortIDs", "Host-A") + q("ProtocolControllers", node))
    r["badInitiator"] = [res["ReturnValue"], res["reason"]]
    res, _ = invoke(proto, "MSISCSITARGET_ControllerConfigurationService", "ExposePaths", ccs,
                    q("LUNames", m2) + q("DeviceNumbers", "3") + q("DeviceAccesses", 3) + q("ProtocolControllers", node))
    r["lunInUse"] = [res["ReturnValue"], res["reason"]]

    inst, keys = spc(proto)
    r["iqn"] = inst["Name"]
    units = associated(proto, "MSISCSITARGET_SCSIProtocolController", keys, "CIM_ProtocolControllerForUnit", instances=True)
    r["units"] = sorted("%s:%s:%s" % (u["DeviceNumber"], u["DeviceAccess"], u["Dependent"]["DeviceID"]) for u in units)
    r["m1"], r["m2"] = m1, m2
    privs = associated(proto, "MSISCSITARGET_StorageHardwareID", {"InstanceID": "replicad:hardwareid:" + a}, "CIM_AuthorizedSubject")
    r["privileges"] = [p["InstanceID"] for p in privs]
    targets = associated(proto, "MSISCSITARGET_AuthorizedPrivilege", {"InstanceID": privs[0]["InstanceID"]}, "CIM_AuthorizedTarget") if privs else []
    r["privilegeTargets"] = [t.get("ElementName") for t in targets]
    ports = associated(proto, "MSISCSITARGET_SCSIProtocolController", keys, "CIM_SAPAvailableForElement")
    r["ports"] = [p.get("Name") for p in ports]
    wql = ('<w:Filter xmlns:w="%s" Dialect="%s">SELECT * FROM MSISCSITARGET_StorageHardwareID WHERE ElementName = "host a"</w:Filter>'
           % (NS["w"], WQL))
    r["wqlHardwareIDs"] = [h["StorageID"] for h in enumerate_all(proto, WMI + "MSISCSITARGET_StorageHardwareID", wql)]
    return r


def main():
    endpoint, user, password, phase, a = sys.argv[1:6]
    proto = Protocol(endpoint=endpoint, transport="basic", username=user, password=password,
                     message_encryption="never", server_cert_validation="ignore")
    r = {}
    if phase == "setup":
        r = setup(proto, a)
    elif phase == "hide":
        ccs = service(proto, "MSISCSITARGET_ControllerConfigurationService")
        _, keys = spc(proto)
        node = epr("MSISCSITARGET_SCSIProtocolController", keys)
        m1 = volume_name(proto, "m1")
        for key in ("hide", "hideAgain"):
            res, _ = invoke(proto, "MSISCSITARGET_ControllerConfigurationService", "HidePaths", ccs,
                            q("LUNames", m1) + q("ProtocolControllers", node))
            r[key] = [res["ReturnValue"], res["reason"]]
        # m2 is still exposed: it cannot go back to its pool.
        scs = service(proto, "MSISCSITARGET_StorageConfigurationService")
        vol = [v for v in enumerate_all(proto, WMI + "MSISCSITARGET_StorageVolume") if v["ElementName"] == "m2"][0]
        keys = {k: vol[k] for k in ("SystemCreationClassName", "SystemName", "CreationClassName", "DeviceID")}
        res, _ = invoke(proto, "MSISCSITARGET_StorageConfigurationService", "ReturnToStoragePool", scs,
                        q("TheElement", epr("MSISCSITARGET_StorageVolume", keys)))
        r["deleteExposed"] = [res["ReturnValue"], res["reason"]]
    elif phase == "revoke":
        hw = service(proto, "MSISCSITARGET_StorageHardwareIDManagementService")
        res, _ = invoke(proto, "MSISCSITARGET_StorageHardwareIDManagementService", "DeleteStorageHardwareID", hw,
                        q("HardwareID", epr("MSISCSITARGET_StorageHardwareID", {"InstanceID": "replicad:hardwareid:" + a})))
        r["revoke"] = res["ReturnValue"]
    elif phase == "delete":
        ccs = service(proto, "MSISCSITARGET_ControllerConfigurationService")
        _, keys = spc(proto)
        res, _ = invoke(proto, "MSISCSITARGET_ControllerConfigurationService", "DeleteProtocolController", ccs,
                        q("ProtocolController", epr("MSISCSITARGET_SCSIProtocolController", keys)))
        r["delete"] = res["ReturnValue"]
        r["left"] = len(enumerate_all(proto, WMI + "MSISCSITARGET_SCSIProtocolController"))
    print(json.dumps(r))


if __name__ == "__main__":
    main()
