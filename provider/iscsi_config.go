package provider

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
)

// Return values of CIM_iSCSIConfigurationService.CreateiSCSINode and
// DeleteiSCSINode beyond 0..5 (Network/CIM_iSCSIConfigurationService.mof
// 2.51; WIN createiscsinode-…md, deleteiscsinode-…md).
const (
	returnAliasInUse      uint32 = 4097 // CreateiSCSINode: Alias In Use By Other Node
	returnNodeNonExistent uint32 = 4096 // DeleteiSCSINode: SCSIProtocolController Non-Existent
	returnSessionsActive  uint32 = 4097 // DeleteiSCSINode: Sessions Active on Node Ports
)

// iscsiConfigurationServiceClass declares
// MSISCSITARGET_iSCSIConfigurationService with CreateiSCSINode and
// DeleteiSCSINode (Windows overrides both; a node is a target).
func (p *Provider) iscsiConfigurationServiceClass() *cimmodel.Class {
	common := []string{"Success", "Not Supported", "Unspecified Error", "Timeout", "Failed", "Invalid Parameter", "DMTF Reserved"}
	methods := []*cimmodel.Method{
		{
			Name: "CreateiSCSINode", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6..4095", "4096", "4097", "4098..32767", "32768..65535"},
			ReturnValues: append(append([]string(nil), common...), "Node Creation Not Supported", "Alias In Use By Other Node",
				"Method Reserved", "Vendor Specific"),
			Params: []cimmodel.Parameter{
				{Name: "Alias", Type: cimmodel.TypeString, In: true},
				{Name: "iSCSINode", Type: cimmodel.TypeReference, Out: true, RefClass: "CIM_SCSIProtocolController"},
			},
			Func: p.createISCSINode,
			Description: "Creates an empty iSCSI target named Alias (its IQN is the base IQN, ':' and the alias; " +
				"a generated name when Alias is NULL). Expose volumes into it with ExposePaths.",
		},
		{
			Name: "DeleteiSCSINode", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6..4095", "4096", "4097", "4098..32767", "32768..65535"},
			ReturnValues: append(append([]string(nil), common...), "SCSIProtocolController Non-Existent",
				"Sessions Active on Node Ports", "Method Reserved", "Vendor Specific"),
			Params: []cimmodel.Parameter{
				{Name: "iSCSINode", Type: cimmodel.TypeReference, In: true, Required: true, RefClass: "CIM_SCSIProtocolController"},
			},
			Func:        p.deleteISCSINode,
			Description: "Deletes an iSCSI target with its LUN mappings and mask (the volumes stay).",
		},
	}
	return p.serviceClass(iscsiConfigServiceClassName, "CIM_iSCSIConfigurationService",
		"replicad iSCSI configuration service", "Creates and deletes iSCSI targets (nodes)", methods)
}

// createISCSINode implements CreateiSCSINode. Answers: 0 with iSCSINode;
// 1 while the data plane is off; 5 for an alias that is not a valid target
// name (lower-case letters, digits, '-', '.', at most 64); 4097 when a
// target has that name.
func (p *Provider) createISCSINode(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "CreateiSCSINode"
	if p.iscsi == nil {
		return p.maskOff(method)
	}
	alias, _ := argString(in, "Alias")
	if alias != "" {
		if err := iscsi.CheckTargetName(alias); err != nil {
			return p.maskRefuseErr(method, fmt.Errorf("Alias: %w", err))
		}
	}
	var t iscsi.Target
	var err error
	if alias == "" {
		t, err = p.iscsi.Expose("", nil, nil, false)
	} else {
		t, err = p.iscsi.CreateTarget(alias, nil)
	}
	if errors.Is(err, iscsi.ErrExists) {
		return p.maskRefuse(method, returnAliasInUse, fmt.Sprintf("Alias %q: a target has that name", alias))
	} else if err != nil {
		return p.maskRefuseErr(method, err)
	}
	p.logger.Info("target created", zap.String("target", t.Name), zap.String("iqn", t.IQN))
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{"iSCSINode": cimmodel.Ref(p.spcPath(t.Name))}}, nil
}

// deleteISCSINode implements DeleteiSCSINode. Answers: 0; 1 while the data
// plane is off; 4096 for a reference that names no target; 4097 while
// initiators are logged in to it.
func (p *Provider) deleteISCSINode(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "DeleteiSCSINode"
	if p.iscsi == nil {
		return p.maskOff(method)
	}
	ref, _ := argRef(in, "iSCSINode")
	t, err := p.targetFromPath(ref)
	if errors.Is(err, iscsi.ErrNotFound) {
		return p.maskRefuse(method, returnNodeNonExistent, fmt.Sprintf("iSCSINode: %s names no iSCSI target", ref))
	} else if err != nil {
		return p.maskRefuseErr(method, err)
	}
	if err := p.deleteTarget(t.Name); err != nil {
		var r *refusalOf
		if errors.As(err, &r) {
			r.code = returnSessionsActive
		}
		return p.answerRefusal(method, err)
	}
	return answer(returnOK), nil
}
