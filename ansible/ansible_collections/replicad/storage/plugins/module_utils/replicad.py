# -*- coding: utf-8 -*-
# Copyright: the replicad authors
# Apache License 2.0
"""WS-Management calls to replicad through pywinrm's Protocol and transport.

The modules of this collection share this client: enumerate instances (with
their EPRs), invoke methods with reference parameters, read jobs, and turn
faults and return values into errors.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import traceback
import uuid
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import env_fallback

try:
    import xmltodict
    from winrm.exceptions import WinRMError, WinRMTransportError
    from winrm.protocol import Protocol
    HAS_WINRM = True
except ImportError:  # reported by the module
    HAS_WINRM = False

NAMESPACE = "root/cimv2/storage/iscsitarget"
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/" + NAMESPACE + "/"
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
}
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"

SYNC_TYPES = {"mirror": 6, "snapshot": 7, "clone": 8}
SYNC_TYPE_NAMES = {"6": "mirror", "7": "snapshot", "8": "clone"}
COPY_STATES = {"2": "Initialized", "3": "Unsynchronized", "4": "Synchronized", "5": "Broken", "6": "Fractured",
               "7": "Split", "8": "Inactive", "9": "Suspended", "12": "Aborted", "15": "Not Applicable"}
RETURN_TO_RESOURCE_POOL = 19
# ModifyReplicaSynchronization operations the replica module performs.
OPERATIONS = {"detach": 8, "fracture": 12, "resync": 14, "return-to-pool": RETURN_TO_RESOURCE_POOL}
# CreateElementReplica/CreateGroupReplica Mode values.
MODES = {"synchronous": 2, "asynchronous": 3}

CONNECTION_ARGS = dict(
    url=dict(type="str", fallback=(env_fallback, ["REPLICAD_URL"]), default="http://127.0.0.1:5985/wsman"),
    user=dict(type="str", fallback=(env_fallback, ["REPLICAD_USER"]), default="admin"),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["REPLICAD_PASSWORD"])),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="int", default=60),
)


class ReplicadError(Exception):
    """A failed call: a fault, a return value other than 0/4096 (with the server's
    reason), or a failed job."""


def connection_spec():
    """Argument spec entries shared by every module."""
    return dict((k, dict(v)) for k, v in CONNECTION_ARGS.items())


def _local(tag):
    return tag.rsplit("}", 1)[-1]


class Instance(object):
    """An enumerated instance: properties by name and its EPR as XML."""

    def __init__(self, elem, epr):
        self.cls = _local(elem.tag)
        self.props = {}
        self.refs = {}
        for c in elem:
            name = _local(c.tag)
            if c.find("a:ReferenceParameters", NS) is not None:
                self.refs.setdefault(name, []).append(Ref(c))
                continue
            self.props.setdefault(name, []).append(c.text or "")
        self.epr = epr

    def get(self, name, default=""):
        vals = self.props.get(name)
        return vals[0] if vals else default

    def ref(self, name):
        vals = self.refs.get(name)
        return vals[0] if vals else None


class Ref(object):
    """An endpoint reference: resource URI and selectors, and its XML children."""

    def __init__(self, elem):
        self.xml = "".join(ET.tostring(c, encoding="unicode") for c in elem)
        self.uri = elem.find(".//w:ResourceURI", NS).text
        self.selectors = {}
        sset = elem.find("a:ReferenceParameters/w:SelectorSet", NS)
        for s in (sset if sset is not None else []):
            self.selectors[s.get("Name")] = s.text

    def key(self):
        for k in ("DeviceID", "InstanceID"):
            if k in self.selectors:
                return self.selectors[k]
        return ""


class Client(object):
    """A replicad endpoint reached with pywinrm (Basic authentication, no message encryption)."""

    def __init__(self, url, user, password, validate_certs=True, timeout=60):
        self.proto = Protocol(endpoint=url, transport="basic", username=user, password=password,
                              message_encryption="never",
                              server_cert_validation="validate" if validate_certs else "ignore",
                              read_timeout_sec=timeout + 10, operation_timeout_sec=timeout)

    def _send(self, action, uri, body, selectors=None):
        header = self.proto._get_soap_header(action=action, resource_uri=uri, message_id=uuid.uuid4())
        if selectors:
            header["env:Header"]["w:SelectorSet"] = {
                "w:Selector": [{"@Name": k, "#text": v} for k, v in selectors.items()]}
        req = {"env:Envelope": header}
        req["env:Envelope"]["env:Body"] = "@@BODY@@"
        message = xmltodict.unparse(req).replace("@@BODY@@", body)
        try:
            reply = self.proto.send_message(message)
        except (WinRMError, WinRMTransportError) as e:
            raise ReplicadError("%s: %s" % (action.rsplit("/", 1)[-1], e))
        except Exception as e:  # requests' connection, TLS and timeout errors
            raise ReplicadError("cannot reach %s: %s" % (self.proto.transport.endpoint, e))
        try:
            return ET.fromstring(reply)
        except ET.ParseError as e:
            raise ReplicadError("%s: the reply is not XML: %s" % (action.rsplit("/", 1)[-1], e))

    def enumerate(self, cls):
        """All instances of cls (a class of the iSCSI target namespace), with EPRs."""
        uri = WMI + cls
        body = ('<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>100</w:MaxElements>'
                '<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode></n:Enumerate>')
        root = self._send(ENUMERATE, uri, body)
        out = []
        resp = root.find("s:Body/n:EnumerateResponse", NS)
        items = resp.find("w:Items", NS)
        done = resp.find("w:EndOfSequence", NS) is not None
        while True:
            for it in (items if items is not None else []):
                inst, epr = None, None
                for c in it:
                    if _local(c.tag) == "EndpointReference":
                        epr = Ref(c)
                    else:
                        inst = c
                if inst is not None:
                    out.append(Instance(inst, epr))
            if done:
                return out
            ctx = resp.find("n:EnumerationContext", NS).text
            body = ('<n:Pull><n:EnumerationContext>%s</n:EnumerationContext>'
                    '<n:MaxElements>100</n:MaxElements></n:Pull>' % ctx)
            root = self._send(PULL, uri, body)
            resp = root.find("s:Body/n:PullResponse", NS)
            items = resp.find("n:Items", NS)
            done = resp.find("n:EndOfSequence", NS) is not None

    def service(self, cls):
        found = self.enumerate(cls)
        if len(found) != 1:
            raise ReplicadError("%s: %d instances, want 1" % (cls, len(found)))
        return found[0].epr

    def invoke(self, target, method, params):
        """Calls method on target (a Ref) with params, a list of (name, value) where value
        is text or a Ref (references). Returns the output element; raises on failure."""
        uri = target.uri
        parts = []
        for name, value in params:
            if isinstance(value, Ref):
                parts.append("<q:%s>%s</q:%s>" % (name, value.xml, name))
            else:
                parts.append("<q:%s>%s</q:%s>" % (name, _escape(str(value)), name))
        body = '<q:%s_INPUT xmlns:q="%s">%s</q:%s_INPUT>' % (method, uri, "".join(parts), method)
        root = self._send(uri + "/" + method, uri, body, target.selectors)
        out = root.find("s:Body/*", NS)
        rv = out.find("{*}ReturnValue").text
        if rv not in ("0", "4096"):
            why = reason(out)
            raise ReplicadError("%s returned %s%s" % (method, rv, ": " + why if why else ""))
        job = out.find("{*}Job")
        if job is not None:
            self.wait_job(Ref(job))
        return out

    def wait_job(self, job, timeout=600):
        deadline = time.time() + timeout
        while True:
            inst = self._send(GET, job.uri, "", job.selectors).find("s:Body/*", NS)
            props = dict((_local(c.tag), c.text or "") for c in inst)
            state = props.get("JobState")
            if state == "7":
                return
            if state in ("8", "9", "10"):
                raise ReplicadError("job %s failed: %s" % (job.key(), props.get("ErrorDescription", "")))
            if time.time() > deadline:
                raise ReplicadError("job %s did not finish within %d s" % (job.key(), timeout))
            time.sleep(0.25)


def reason(out):
    """Why a call was refused: the Message of the CIM_Error replicad returns in the
    ExtendedStatus out-parameter beside a refusing ReturnValue ("" when there is none)."""
    status = out.find("{*}ExtendedStatus")
    if status is None:
        return ""
    msg = status.find(".//{*}Message")
    return (msg.text or "") if msg is not None else ""


def _escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def connect(module):
    """Builds the Client from the module's connection options (with their environment fallbacks)."""
    if not HAS_WINRM:
        module.fail_json(msg="the replicad.storage modules need pywinrm (Debian: python3-winrm) on the controller")
    p = module.params
    try:
        return Client(p["url"], p["user"], p["password"] or "", p["validate_certs"], p["timeout"])
    except Exception as e:
        fail(module, e)


def fail(module, err):
    """Fails the task with a msg that says why: the text of a ReplicadError (a fault,
    a refusal with the server's reason, a connection error), or the kind and text of
    any other exception (its traceback only in the result's exception field, which
    ansible shows with -vvv)."""
    if isinstance(err, ReplicadError):
        module.fail_json(msg=str(err))
    module.fail_json(msg="%s: %s" % (type(err).__name__, err), exception=traceback.format_exc())


def default_mode(client, sync_type):
    """The Mode a mirror is created with when the task names none: Synchronous (2)
    when the capabilities offer a Synchronous Mirror Local (SupportedReplicationTypes 2),
    else Asynchronous (3) when they offer an Asynchronous one (3). None for snapshots
    and clones, and when the capabilities offer no mirror."""
    if sync_type != "mirror":
        return None
    caps = client.enumerate("MSISCSITARGET_ReplicationServiceCapabilities")
    types = caps[0].props.get("SupportedReplicationTypes", []) if caps else []
    for t, mode in (("2", MODES["synchronous"]), ("3", MODES["asynchronous"])):
        if t in types:
            return mode
    return None


def find_by_name(items, name, key):
    for i in items:
        if i.get("ElementName") == name:
            return i
    for i in items:
        if i.get(key) == name:
            return i
    return None


def replicas(client):
    """Every synchronization as a dict: name, kind, source, targets, type, state, and its Ref."""
    names = {}
    for cls, key in (("MSISCSITARGET_StorageVolume", "DeviceID"), ("MSISCSITARGET_ReplicationGroup", "InstanceID")):
        for i in client.enumerate(cls):
            names[i.get(key)] = i.get("ElementName")
    members = {}
    for m in client.enumerate("MSISCSITARGET_OrderedMemberOfCollection"):
        coll, mem = m.ref("Collection"), m.ref("Member")
        if coll and mem:
            members.setdefault(coll.key(), []).append(names.get(mem.key(), mem.key()))
    out = []
    for cls in ("MSISCSITARGET_GroupSynchronized", "MSISCSITARGET_StorageSynchronized"):
        for s in client.enumerate(cls):
            src, dst = s.ref("SystemElement"), s.ref("SyncedElement")
            group = cls.endswith("GroupSynchronized")
            name = s.get("RelationshipName") if group else names.get(dst.key(), dst.key())
            out.append(dict(
                name=name or names.get(dst.key(), dst.key()),
                kind="group" if group else "element",
                source=names.get(src.key(), src.key()),
                target=names.get(dst.key(), dst.key()),
                targets=members.get(dst.key(), []) if group else [names.get(dst.key(), dst.key())],
                type=SYNC_TYPE_NAMES.get(s.get("SyncType"), s.get("SyncType")),
                state=COPY_STATES.get(s.get("CopyState"), s.get("CopyState")),
                percent_synced=s.get("PercentSynced"),
                _ref=s.epr,
            ))
    return out


def public(replica):
    return dict((k, v) for k, v in replica.items() if not k.startswith("_"))
