package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
)

// The iSCSI Target Ports profile's classes (WIN msiscsitarget-*.md;
// docs/iscsi.md): the portal tgtd listens on is one
// MSISCSITARGET_TCPProtocolEndpoint; each target has one
// MSISCSITARGET_iSCSIProtocolEndpoint (its target port: Name
// "<IQN>,t,0x<TPGT>", RFC 3720 §3.2.6's iSCSI port name) bound to it; live
// sessions and their connections are MSISCSITARGET_iSCSISession and
// MSISCSITARGET_iSCSIConnection.
const (
	iscsiEndpointClassName            = "MSISCSITARGET_iSCSIProtocolEndpoint"
	tcpEndpointClassName              = "MSISCSITARGET_TCPProtocolEndpoint"
	iscsiSessionClassName             = "MSISCSITARGET_iSCSISession"
	iscsiConnectionClassName          = "MSISCSITARGET_iSCSIConnection"
	bindsToClassName                  = "MSISCSITARGET_BindsTo"
	hostedAccessPointClassName        = "MSISCSITARGET_HostedAccessPoint"
	sapAvailableClassName             = "MSISCSITARGET_SAPAvailableForElement"
	endpointOfPipeClassName           = "MSISCSITARGET_EndpointOfNetworkPipe"
	pipeCompositionClassName          = "MSISCSITARGET_NetworkPipeComposition"
	sessionInstancePrefix             = "replicad:session:"
	connectionInstancePrefix          = "replicad:connection:"
	connectionTypeISCSI        uint16 = 7
	roleTarget                 uint16 = 3
	protocolIFTypeOther        uint16 = 1
	protocolIFTypeTCP          uint16 = 4111
	enabledStateEnabled        uint16 = 2
	authNone                   uint16 = 2 // iSCSI AuthenticationMethod: No Authentication
	authCHAP                   uint16 = 4 // CHAP
)

// sapPath is the object path of a service access point of class (the
// CIM_ServiceAccessPoint keys).
func (p *Provider) sapPath(class, name string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: class, Keys: []cimmodel.KeyBinding{
		{Name: "SystemCreationClassName", Value: cimmodel.String(systemClassName)},
		{Name: "SystemName", Value: cimmodel.String(p.system)},
		{Name: "CreationClassName", Value: cimmodel.String(class)},
		{Name: "Name", Value: cimmodel.String(name)},
	}}
}

// targetPortName is the iSCSI port name of target t on the portal: its
// IQN, ",t,0x" and the TPGT in hex (RFC 3720 §3.2.6). ExposePaths'
// TargetPortIDs name it.
func (p *Provider) targetPortName(t iscsi.Target) string {
	return fmt.Sprintf("%s,t,0x%04x", t.IQN, p.iscsi.Portal().TPGT)
}

// portalName is the TCPProtocolEndpoint's Name: the portal's host:port.
func (p *Provider) portalName() string {
	pt := p.iscsi.Portal()
	return pt.Address + ":" + strconv.Itoa(pt.Port)
}

// endpointInstance fills the keys and states of an endpoint of class c.
func (p *Provider) endpointInstance(c *cimmodel.Class, name string) *cimmodel.Instance {
	inst := cimmodel.NewInstance(c)
	for _, k := range p.sapPath(c.Name, name).Keys {
		inst.Set(k.Name, k.Value)
	}
	return inst.
		Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
		Set("EnabledState", cimmodel.Uint16(enabledStateEnabled)).
		Set("RequestedState", cimmodel.Uint16(requestedStateNotApplic)).
		Set("EnabledDefault", cimmodel.Uint16(enabledDefaultEnabled))
}

// sessionID is the InstanceID of a session.
func sessionID(s iscsi.Session) string { return sessionInstancePrefix + s.Target + ":" + s.SessionID }

// sessionPath is the object path of a session.
func sessionPath(s iscsi.Session) cimmodel.ObjectPath {
	return capabilitiesPathOf(iscsiSessionClassName, sessionID(s))
}

// connectionPath is the object path of connection n (1-based) of a session.
func connectionPath(s iscsi.Session, n int) cimmodel.ObjectPath {
	return capabilitiesPathOf(iscsiConnectionClassName, fmt.Sprintf("%s%s:%s:%d", connectionInstancePrefix, s.Target, s.SessionID, n))
}

// sessions returns the live sessions (none while the data plane is off).
func (p *Provider) sessions() ([]iscsi.Session, error) {
	if p.iscsi == nil {
		return nil, nil
	}
	ss, err := p.iscsi.Sessions()
	if errors.Is(err, iscsi.ErrUnavailable) {
		// No tgtd, no initiator logged in: an empty list is the truth,
		// and an association walk over every class does not fail on it.
		return nil, nil
	}
	if err != nil {
		return nil, maskingError(fmt.Errorf("list sessions: %w", err))
	}
	return ss, nil
}

// iscsiEndpointClasses declares the endpoints, sessions, connections and
// their associations.
func (p *Provider) iscsiEndpointClasses() []*cimmodel.Class {
	iscsiEP := listClass(iscsiEndpointClassName, "CIM_iSCSIProtocolEndpoint", nil, func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		out := make([]*cimmodel.Instance, 0, len(ts))
		for _, t := range ts {
			tpgt := p.iscsi.Portal().TPGT
			out = append(out, p.endpointInstance(c, p.targetPortName(t)).
				Set("ElementName", cimmodel.String(t.Name)).
				Set("NameFormat", cimmodel.String("iSCSI Name")).
				Set("ConnectionType", cimmodel.Uint16(connectionTypeISCSI)).
				Set("Role", cimmodel.Uint16(roleTarget)).
				Set("Identifier", cimmodel.String(fmt.Sprintf("%012x", tpgt))).
				Set("TargetRelativePortNumber", cimmodel.Uint32(uint32(tpgt))).
				Set("ProtocolIFType", cimmodel.Uint16(protocolIFTypeOther)).
				Set("OtherTypeDescription", cimmodel.String("iSCSI")))
		}
		return out, nil
	})
	tcpEP := listClass(tcpEndpointClassName, "CIM_TCPProtocolEndpoint", nil, func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		if p.iscsi == nil {
			return nil, nil
		}
		return []*cimmodel.Instance{p.endpointInstance(c, p.portalName()).
			Set("ElementName", cimmodel.String("iSCSI portal "+p.portalName())).
			Set("PortNumber", cimmodel.Uint32(uint32(p.iscsi.Portal().Port))).
			Set("ProtocolIFType", cimmodel.Uint16(protocolIFTypeTCP))}, nil
	})
	session := listClass(iscsiSessionClassName, "CIM_iSCSISession", nil, func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ss, err := p.sessions()
		if err != nil {
			return nil, err
		}
		out := make([]*cimmodel.Instance, 0, len(ss))
		for _, s := range ss {
			out = append(out, cimmodel.NewInstance(c).
				Set("InstanceID", cimmodel.String(sessionID(s))).
				Set("Name", cimmodel.String(s.Initiator)).
				Set("ElementName", cimmodel.String(s.Initiator+" on "+s.Target)).
				Set("EndPointName", cimmodel.String(s.Initiator)).
				Set("SessionType", cimmodel.Uint16(3)). // Normal
				Set("CurrentConnections", cimmodel.Uint32(uint32(s.Connections))).
				Set("Directionality", cimmodel.Uint16(2)).
				Set("AggregationBehavior", cimmodel.Uint16(3)). // Combined In Parallel
				Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
				Set("EnabledState", cimmodel.Uint16(enabledStateEnabled)))
		}
		return out, nil
	})
	connection := listClass(iscsiConnectionClassName, "CIM_iSCSIConnection", nil, func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ss, err := p.sessions()
		if err != nil || len(ss) == 0 {
			return nil, err
		}
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		chap := map[string]bool{}
		for _, t := range ts {
			chap[t.Name] = t.CHAP != nil
		}
		var out []*cimmodel.Instance
		for _, s := range ss {
			auth := authNone
			if chap[s.Target] {
				auth = authCHAP
			}
			for n := 1; n <= s.Connections; n++ {
				inst := cimmodel.NewInstance(c)
				for _, k := range connectionPath(s, n).Keys {
					inst.Set(k.Name, k.Value)
				}
				out = append(out, inst.
					Set("Name", cimmodel.String(s.Address)).
					Set("ElementName", cimmodel.String(s.Initiator+" from "+s.Address)).
					Set("Directionality", cimmodel.Uint16(2)).
					Set("AggregationBehavior", cimmodel.Uint16(2)). // No Lower-Level Composition
					Set("AuthenticationMethodUsed", cimmodel.Uint16(auth)).
					Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
					Set("EnabledState", cimmodel.Uint16(enabledStateEnabled)))
			}
		}
		return out, nil
	})
	return append([]*cimmodel.Class{iscsiEP, tcpEP, session, connection}, p.iscsiEndpointAssociations()...)
}

// iscsiEndpointAssociations declares
//   - BindsTo: Antecedent the TCP portal, Dependent each target port;
//   - HostedAccessPoint: Antecedent the system, Dependent the portal and
//     every target port;
//   - SAPAvailableForElement: AvailableSAP a target port, ManagedElement
//     its SPC;
//   - EndpointOfNetworkPipe: Antecedent a target port, Dependent each of
//     its sessions (SourceOrSink 4, Not Applicable);
//   - NetworkPipeComposition: GroupComponent a session, PartComponent each
//     of its connections.
func (p *Provider) iscsiEndpointAssociations() []*cimmodel.Class {
	binds := assocClass(bindsToClassName, "CIM_BindsTo", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil || p.iscsi == nil {
			return nil, err
		}
		portal := p.sapPath(tcpEndpointClassName, p.portalName())
		out := make([]*cimmodel.Instance, 0, len(ts))
		for _, t := range ts {
			out = append(out, cimmodel.NewInstance(c).
				Set("Antecedent", cimmodel.Ref(portal)).
				Set("Dependent", cimmodel.Ref(p.sapPath(iscsiEndpointClassName, p.targetPortName(t)))))
		}
		return out, nil
	})
	hosted := assocClass(hostedAccessPointClassName, "CIM_HostedAccessPoint", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil || p.iscsi == nil {
			return nil, err
		}
		sys := cimmodel.Ref(p.systemPath())
		out := []*cimmodel.Instance{cimmodel.NewInstance(c).Set("Antecedent", sys).
			Set("Dependent", cimmodel.Ref(p.sapPath(tcpEndpointClassName, p.portalName())))}
		for _, t := range ts {
			out = append(out, cimmodel.NewInstance(c).Set("Antecedent", sys).
				Set("Dependent", cimmodel.Ref(p.sapPath(iscsiEndpointClassName, p.targetPortName(t)))))
		}
		return out, nil
	})
	available := assocClass(sapAvailableClassName, "CIM_SAPAvailableForElement", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		out := make([]*cimmodel.Instance, 0, len(ts))
		for _, t := range ts {
			out = append(out, cimmodel.NewInstance(c).
				Set("AvailableSAP", cimmodel.Ref(p.sapPath(iscsiEndpointClassName, p.targetPortName(t)))).
				Set("ManagedElement", cimmodel.Ref(p.spcPath(t.Name))))
		}
		return out, nil
	})
	endpointOf := assocClass(endpointOfPipeClassName, "CIM_EndpointOfNetworkPipe", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ss, err := p.sessions()
		if err != nil || len(ss) == 0 {
			return nil, err
		}
		ts, err := p.targets()
		if err != nil {
			return nil, err
		}
		byName := map[string]iscsi.Target{}
		for _, t := range ts {
			byName[t.Name] = t
		}
		var out []*cimmodel.Instance
		for _, s := range ss {
			t, ok := byName[s.Target]
			if !ok {
				continue
			}
			out = append(out, cimmodel.NewInstance(c).
				Set("Antecedent", cimmodel.Ref(p.sapPath(iscsiEndpointClassName, p.targetPortName(t)))).
				Set("Dependent", cimmodel.Ref(sessionPath(s))).
				Set("SourceOrSink", cimmodel.Uint16(4)))
		}
		return out, nil
	})
	composition := assocClass(pipeCompositionClassName, "CIM_NetworkPipeComposition", func(ctx context.Context, c *cimmodel.Class) ([]*cimmodel.Instance, error) {
		ss, err := p.sessions()
		if err != nil {
			return nil, err
		}
		var out []*cimmodel.Instance
		for _, s := range ss {
			for n := 1; n <= s.Connections; n++ {
				out = append(out, cimmodel.NewInstance(c).
					Set("GroupComponent", cimmodel.Ref(sessionPath(s))).
					Set("PartComponent", cimmodel.Ref(connectionPath(s, n))).
					Set("AggregationSequence", cimmodel.Uint16(uint16(n))))
			}
		}
		return out, nil
	})
	return []*cimmodel.Class{binds, hosted, available, endpointOf, composition}
}
