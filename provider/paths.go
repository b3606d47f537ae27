package provider

import (
	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

// Class names and key values shared by several class families.
const (
	storageVolumeClassName = "MSISCSITARGET_StorageVolume"
	storagePoolClassName   = "MSISCSITARGET_StoragePool"
	poolInstancePrefix     = "replicad:pool:"
)

// volumePath is the object path of the StorageVolume for volume id: the
// CIM_LogicalDevice keys, DeviceID = the volume's ID.
func (p *Provider) volumePath(id volumes.ID) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: storageVolumeClassName, Keys: []cimmodel.KeyBinding{
		{Name: "SystemCreationClassName", Value: cimmodel.String(systemClassName)},
		{Name: "SystemName", Value: cimmodel.String(p.system)},
		{Name: "CreationClassName", Value: cimmodel.String(storageVolumeClassName)},
		{Name: "DeviceID", Value: cimmodel.String(string(id))},
	}}
}

// poolPath is the object path of the StoragePool for pool name: InstanceID =
// "replicad:pool:" + name.
func (p *Provider) poolPath(name string) cimmodel.ObjectPath {
	return cimmodel.ObjectPath{Namespace: Namespace, Class: storagePoolClassName, Keys: []cimmodel.KeyBinding{
		{Name: "InstanceID", Value: cimmodel.String(poolInstancePrefix + name)},
	}}
}
