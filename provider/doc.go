// Package provider owns the CIM face of replicad's iSCSI target: the
// MSISCSITARGET_* classes (and the CIM_* classes around them) in namespace
// root/cimv2/storage/iscsitarget, their instances and their methods.
// It knows nothing of HTTP or SOAP: it declares classes to a
// cimmodel.Registry and maps instances and method calls onto the domain
// packages (volumes, jobqueue, replica).
//
// # Files
//
// schema.go declares the abstract DMTF classes our classes derive from (so
// that enumerating CIM_StorageVolume finds MSISCSITARGET_StorageVolume, as
// WMI does). Each class family has its own file; provider.go holds the one
// explicit list of classes.
//
// # Keys
//
// CIM keys are derived from domain IDs: the hosting system is named after the
// host, services after their class, volumes by their volume ID.
package provider
