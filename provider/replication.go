package provider

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// Class names and key prefixes of the replication classes. The Windows
// provider has no group classes: MSISCSITARGET_ReplicationGroup,
// MSISCSITARGET_GroupSynchronized, MSISCSITARGET_OrderedMemberOfCollection,
// MSISCSITARGET_HostedCollection, MSISCSITARGET_ServiceAffectsElement and
// MSISCSITARGET_OwningJobElement are replicad's extensions (§4.1).
const (
	concreteJobClassName                = "MSISCSITARGET_ConcreteJob"
	affectedJobElementClassName         = "MSISCSITARGET_AffectedJobElement"
	owningJobElementClassName           = "MSISCSITARGET_OwningJobElement"
	storageSynchronizedClassName        = "MSISCSITARGET_StorageSynchronized"
	groupSynchronizedClassName          = "MSISCSITARGET_GroupSynchronized"
	replicationGroupClassName           = "MSISCSITARGET_ReplicationGroup"
	orderedMemberClassName              = "MSISCSITARGET_OrderedMemberOfCollection"
	hostedCollectionClassName           = "MSISCSITARGET_HostedCollection"
	serviceAffectsElementClass          = "MSISCSITARGET_ServiceAffectsElement"
	replicationCapabilitiesClass        = "MSISCSITARGET_ReplicationServiceCapabilities"
	elementCapabilitiesClassName        = "MSISCSITARGET_ElementCapabilities"
	replicationSettingDataClass         = "CIM_ReplicationSettingData"
	cimErrorClassName                   = "CIM_Error"
	jobInstancePrefix                   = "replicad:job:"
	groupInstancePrefix                 = "replicad:group:"
	replicationCapabilitiesInstID       = "replicad:ReplicationServiceCapabilities"
	storageReplicationCapabilitiesClass = "MSISCSITARGET_StorageReplicationCapabilities"
	storageReplicationCapabilitiesID    = "replicad:StorageReplicationCapabilities"
)

// replicationState is the replication domain behind the replication classes.
type replicationState struct {
	svc *replica.Service
	// classes holds the declared classes instances are made of.
	classes map[string]*cimmodel.Class
}

// replicationClasses declares the replication classes: the DMTF parents
// first, then the replication service and its capabilities, groups,
// synchronizations and jobs.
func (p *Provider) replicationClasses() []*cimmodel.Class {
	classes := replicationSchemaClasses()
	classes = append(classes,
		p.replicationServiceClass(),
		p.concreteJobClass(),
		p.replicationGroupClass(),
		p.storageSynchronizedClass(),
		p.groupSynchronizedClass(),
		p.capabilitiesClass(),
		p.storageReplicationCapabilitiesClass(),
	)
	classes = append(classes, p.replicationAssociationClasses()...)
	p.repl.classes = map[string]*cimmodel.Class{}
	for _, c := range classes {
		p.repl.classes[c.Name] = c
	}
	return classes
}

// class returns a declared replication class by name.
func (p *Provider) class(name string) *cimmodel.Class { return p.repl.classes[name] }

// jobPath is the object path of the ConcreteJob for job id.
func (p *Provider) jobPath(id string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: concreteJobClassName, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(jobInstancePrefix + id)},
	}}
}

// groupPath is the object path of the ReplicationGroup for group id.
func (p *Provider) groupPath(id string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: replicationGroupClassName, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(groupInstancePrefix + id)},
	}}
}

// capabilitiesPath is the object path of the replication capabilities.
func (p *Provider) capabilitiesPath() cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: replicationCapabilitiesClass, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(replicationCapabilitiesInstID)},
	}}
}

// syncPath is the object path of the StorageSynchronized of a pair: the
// keys a client can build itself (SystemElement = source, SyncedElement =
// target; §2.1, §6.2).
func (p *Provider) syncPath(source, target volumes.ID) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: storageSynchronizedClassName, Keys: []cimmodel.KeyBinding{
		{Name: "SystemElement", Value: cimmodel.Ref(p.volumePath(source))},
		{Name: "SyncedElement", Value: cimmodel.Ref(p.volumePath(target))},
	}}
}

// groupSyncPath is the object path of the GroupSynchronized of two groups.
func (p *Provider) groupSyncPath(source, target string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: groupSynchronizedClassName, Keys: []cimmodel.KeyBinding{
		{Name: "SystemElement", Value: cimmodel.Ref(p.groupPath(source))},
		{Name: "SyncedElement", Value: cimmodel.Ref(p.groupPath(target))},
	}}
}

// errNotOurs is wrapped by errors about references to instances that are
// not of the expected class or not served here.
var errNotOurs = errors.New("provider: reference names no such element")

// volumeIDOf returns the volume ID a StorageVolume reference names.
func volumeIDOf(path cimmodel.ObjectPath, param string) (volumes.ID, error) {
	if !strings.EqualFold(path.Class, storageVolumeClassName) && !strings.EqualFold(path.Class, "CIM_StorageVolume") {
		return "", fmt.Errorf("%w: %s: %s is not a %s", errNotOurs, param, path.Class, storageVolumeClassName)
	}
	id := keyText(path, "DeviceID")
	if id == "" {
		return "", fmt.Errorf("%w: %s: no DeviceID key", errNotOurs, param)
	}
	return volumes.ID(id), nil
}

// groupIDOf returns the group ID a ReplicationGroup reference names.
func groupIDOf(path cimmodel.ObjectPath, param string) (string, error) {
	if !strings.EqualFold(path.Class, replicationGroupClassName) && !strings.EqualFold(path.Class, "CIM_ReplicationGroup") {
		return "", fmt.Errorf("%w: %s: %s is not a %s", errNotOurs, param, path.Class, replicationGroupClassName)
	}
	id, ok := strings.CutPrefix(keyText(path, "InstanceID"), groupInstancePrefix)
	if !ok || id == "" {
		return "", fmt.Errorf("%w: %s: InstanceID is not %s<id>", errNotOurs, param, groupInstancePrefix)
	}
	return id, nil
}

// jobIDOf returns the job ID a ConcreteJob path names.
func jobIDOf(path cimmodel.ObjectPath) (string, bool) {
	id, ok := strings.CutPrefix(keyText(path, "InstanceID"), jobInstancePrefix)
	return id, ok && id != ""
}

// refKey returns the reference value of key name of path.
func refKey(path cimmodel.ObjectPath, name string) (cimmodel.ObjectPath, bool) {
	v, ok := path.Key(name)
	if !ok {
		return cimmodel.ObjectPath{}, false
	}
	return v.AsRef()
}

// timeValue is a datetime value, NULL for the zero time.
func timeValue(t time.Time) cimmodel.Value {
	if t.IsZero() {
		return cimmodel.Null(cimmodel.TypeDatetime)
	}
	return cimmodel.TimeValue(t.UTC())
}
