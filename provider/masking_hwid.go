package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
)

// Return values of CIM_StorageHardwareIDManagementService
// (User/CIM_StorageHardwareIDManagementService.mof 2.51; WIN
// createstoragehardwareid-…md, deletestoragehardwareid-…md).
const (
	returnIDAlreadyCreated   uint32 = 0x1000 // CreateStorageHardwareID: ID already created
	returnIDTypeNotSupported uint32 = 0x1001 // CreateStorageHardwareID: IDType not supported
	returnIDNotFound         uint32 = 0x1000 // DeleteStorageHardwareID: Specified instance not found
)

// hardwareIDServiceClass declares
// MSISCSITARGET_StorageHardwareIDManagementService with
// CreateStorageHardwareID and DeleteStorageHardwareID (the two methods
// Windows overrides).
func (p *Provider) hardwareIDServiceClass() *cimmodel.Class {
	common := []string{"Success", "Not Supported", "Unspecified Error", "Timeout", "Failed", "Invalid Parameter", "DMTF Reserved"}
	methods := []*cimmodel.Method{
		{
			Name: "CreateStorageHardwareID", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6..0xFFF", "0x1000", "0x1001", "0x1003..0x7FFF", "0x8000.."},
			ReturnValues: append(append([]string(nil), common...), "ID already created",
				"Hardware implementation does not support specified IDType", "Method Reserved", "Vendor Specific"),
			Params: []cimmodel.Parameter{
				{Name: "ElementName", Type: cimmodel.TypeString, In: true},
				{Name: "StorageID", Type: cimmodel.TypeString, In: true},
				{Name: "IDType", Type: cimmodel.TypeUint16, In: true,
					ValueMap: []string{"1", "2", "3", "4", "5", "7"},
					Values:   []string{"Other", "PortWWN", "NodeWWN", "Hostname", "iSCSI Name", "SAS Address"}},
				{Name: "OtherIDType", Type: cimmodel.TypeString, In: true},
				{Name: "Setting", Type: cimmodel.TypeReference, In: true, RefClass: "CIM_StorageClientSettingData"},
				{Name: "HardwareID", Type: cimmodel.TypeReference, Out: true, RefClass: "CIM_StorageHardwareID"},
			},
			Func:        p.createStorageHardwareID,
			Description: "Records an initiator's iSCSI name (IDType 5) so that ExposePaths and the mask can name it.",
		},
		{
			Name: "DeleteStorageHardwareID", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6..0xFFF", "0x1000", "0x1001..0x7FFF", "0x8000.."},
			ReturnValues: append(append([]string(nil), common...), "Specified instance not found", "Method Reserved",
				"Vendor Specific"),
			Params: []cimmodel.Parameter{
				{Name: "HardwareID", Type: cimmodel.TypeReference, In: true, Required: true, RefClass: "CIM_StorageHardwareID"},
			},
			Func: p.deleteStorageHardwareID,
			Description: "Forgets an initiator's iSCSI name and removes it from every target's mask " +
				"(its AuthorizedSubject associations): it can no longer log in.",
		},
	}
	return p.serviceClass(hardwareIDServiceClassName, "CIM_StorageHardwareIDManagementService",
		"replicad storage hardware ID management service",
		"Records the iSCSI names of initiators (StorageHardwareID)", methods)
}

// createStorageHardwareID implements CreateStorageHardwareID. Answers: 0
// with HardwareID; 1 while the data plane is off; 5 without StorageID or
// IDType, for a malformed iSCSI name, or a Setting (no
// StorageClientSettingData is served); 4096 when the ID exists; 4097 for an
// IDType other than 5 (iSCSI Name).
func (p *Provider) createStorageHardwareID(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "CreateStorageHardwareID"
	if p.iscsi == nil {
		return p.maskOff(method)
	}
	id, ok := argString(in, "StorageID")
	if !ok || id == "" {
		return p.maskRefuse(method, returnInvalidParameter, "StorageID is required")
	}
	idType, ok := argUint16(in, "IDType")
	if !ok {
		return p.maskRefuse(method, returnInvalidParameter, "IDType is required (5, iSCSI Name)")
	}
	if idType != idTypeISCSIName {
		return p.maskRefuse(method, returnIDTypeNotSupported, fmt.Sprintf("IDType %d: only 5 (iSCSI Name) is supported", idType))
	}
	if _, ok := argRef(in, "Setting"); ok {
		return p.maskRefuse(method, returnInvalidParameter, "Setting: replicad serves no StorageClientSettingData; give NULL")
	}
	if err := iscsi.CheckIQN(id); err != nil {
		return p.maskRefuseErr(method, fmt.Errorf("StorageID: %w", err))
	}
	name, _ := argString(in, "ElementName")
	h, err := p.iscsi.CreateHardwareID(id, name)
	if err != nil {
		return p.maskRefuseErr(method, err)
	}
	p.logger.Info("hardware ID created", zap.String("id", h.ID))
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"HardwareID": cimmodel.Ref(p.hardwareIDPath(h.ID))}}, nil
}

// hardwareIDFromPath returns the initiator name a StorageHardwareID
// reference names.
func (p *Provider) hardwareIDFromPath(path cimmodel.ObjectPath) (string, bool) {
	id, ok := strings.CutPrefix(keyText(path, "InstanceID"), hardwareIDInstancePrefix)
	return id, ok && id != "" && inNamespace(path)
}

// deleteStorageHardwareID implements DeleteStorageHardwareID: the ID leaves
// every target's mask, then the record goes. Answers: 0; 1 while the data
// plane is off; 4096 when no StorageHardwareID has that path.
func (p *Provider) deleteStorageHardwareID(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "DeleteStorageHardwareID"
	if p.iscsi == nil {
		return p.maskOff(method)
	}
	ref, _ := argRef(in, "HardwareID")
	id, ok := p.hardwareIDFromPath(ref)
	if !ok {
		return p.maskRefuse(method, returnIDNotFound, fmt.Sprintf("HardwareID: %s names no StorageHardwareID", ref))
	}
	ts, err := p.iscsi.Targets()
	if err != nil {
		return p.maskRefuseErr(method, err)
	}
	known, err := p.hardwareIDs(ts)
	if err != nil {
		return p.maskRefuseErr(method, err)
	}
	found := false
	for _, h := range known {
		found = found || h.ID == id
	}
	if !found {
		return p.maskRefuse(method, returnIDNotFound, fmt.Sprintf("HardwareID: no StorageHardwareID %s", id))
	}
	for _, t := range ts {
		for _, in := range t.Initiators {
			if in != id {
				continue
			}
			if _, err := p.iscsi.Hide(t.Name, nil, []string{id}); err != nil {
				return p.maskRefuseErr(method, fmt.Errorf("remove %s from target %s: %w", id, t.Name, err))
			}
		}
	}
	if err := p.iscsi.DeleteHardwareID(id); err != nil && !errors.Is(err, iscsi.ErrNotFound) {
		return p.maskRefuseErr(method, err)
	}
	p.logger.Info("hardware ID deleted", zap.String("id", id))
	return answer(returnOK), nil
}
