package provider

import (
	"errors"
	"strings"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
)

// storageClasses declares the storage classes: volumes, pools, the storage
// configuration service and the associations between them and the system.
// The abstract DMTF parents come first (storage_schema.go).
func (p *Provider) storageClasses() []*cimmodel.Class {
	classes := storageSchemaClasses()
	classes = append(classes,
		p.storageVolumeClass(),
		p.storagePoolClass(),
		p.storageConfigurationServiceClass(),
	)
	return append(classes, p.storageAssociationClasses()...)
}

// Method return values of CIM_StorageConfigurationService
// (Device/CIM_StorageConfigurationService.mof; WIN
// createormodifyelementfromstoragepool-msiscsitarget-storageconfigurationservice.md).
const (
	returnOK               uint32 = 0
	returnNotSupported     uint32 = 1
	returnFailed           uint32 = 4
	returnInvalidParameter uint32 = 5
	returnInUse            uint32 = 6
	returnSizeNotSupported uint32 = 4097
	// returnReplicationMember is replicad's vendor-specific answer of
	// ReturnToStoragePool for a volume that is the source or target of a
	// replication: it must leave the relationship first.
	returnReplicationMember uint32 = 32768
	// returnNoCapacity is replicad's vendor-specific answer of
	// CreateOrModifyElementFromStoragePool when the pool's space really runs
	// out (volumes.ErrNoSpace): the value and text Windows' Storage
	// Management API gives for it ("Not enough available capacity", common
	// return codes). 4097 Size Not Supported stays for what a pool's policy
	// will not provision (volumes.ErrOverCommit), with Size set to the most
	// it accepts.
	returnNoCapacity uint32 = 40000
)

// errReplicationMember is returned when a volume cannot be deleted because
// it is part of a replication relationship.
var errReplicationMember = errors.New("provider: volume is a replication source or target")

// replicationUsage returns the StorageExtent.Usage of a volume with role
// r (replica's answer, read from its synchronization records) and whether
// it is in a replication relationship.
func replicationUsage(r replica.Role) (usage uint16, member bool) {
	switch {
	case r.Sources > 0 && r.Targets > 0:
		return usageLocalReplicaSourceTgt, true
	case r.Sources > 0:
		return usageLocalReplicaSource, true
	case r.Targets > 0:
		return usageLocalReplicaTarget, true
	}
	return usageUnrestricted, false
}

// servicePath is the object path of the singleton service of className
// hosted by the system: the CIM_Service keys, Name = the class name without
// its "MSISCSITARGET_" prefix (as replication_service.go names its service).
func (p *Provider) servicePath(className string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: className, Keys: []cimmodel.KeyBinding{
		{Name: "SystemCreationClassName", Value: cimmodel.String(systemClassName)},
		{Name: "SystemName", Value: cimmodel.String(p.system)},
		{Name: "CreationClassName", Value: cimmodel.String(className)},
		{Name: "Name", Value: cimmodel.String(strings.TrimPrefix(className, "MSISCSITARGET_"))},
	}}
}

// inNamespace reports whether a path's namespace (empty: ours) is
// Namespace, in any case and with '/' or '\' separators.
func inNamespace(path cimmodel.ObjectPath) bool {
	ns := strings.Trim(strings.ReplaceAll(path.Namespace, "\\", "/"), "/")
	return ns == "" || strings.EqualFold(ns, Namespace)
}

// keyText returns the text of path's key name ("" when absent).
func keyText(path cimmodel.ObjectPath, name string) string {
	v, ok := path.Key(name)
	if !ok {
		return ""
	}
	if s, ok := v.AsString(); ok {
		return s
	}
	return ""
}
