package provider

import (
	"github.com/replicad/replicad/cimmodel"
)

// replicationServiceClassName is the service CreateGroupReplica is invoked on.
const replicationServiceClassName = "MSISCSITARGET_ReplicationService"

func (p *Provider) replicationServiceClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: replicationServiceClassName, Superclass: "CIM_ReplicationService", Namespace: Namespace}
	c.Provider = singleton(func() *cimmodel.Instance {
		return cimmodel.NewInstance(c).
			Set("SystemCreationClassName", cimmodel.String(systemClassName)).
			Set("SystemName", cimmodel.String(p.system)).
			Set("CreationClassName", cimmodel.String(replicationServiceClassName)).
			Set("Name", cimmodel.String("ReplicationService")).
			Set("ElementName", cimmodel.String("replicad replication service")).
			Set("Description", cimmodel.String("Creates and manages mirror, snapshot and clone replicas of iSCSI target volumes")).
			Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
			Set("Started", cimmodel.Bool(true)).
			Set("StartMode", cimmodel.String("Automatic")).
			Set("EnabledState", cimmodel.Uint16(5)).
			Set("RequestedState", cimmodel.Uint16(12)).
			Set("EnabledDefault", cimmodel.Uint16(2))
	})
	return c
}
