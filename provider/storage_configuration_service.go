package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/volumes"
)

// storageConfigurationServiceClassName is the service volumes are created
// and deleted with.
const storageConfigurationServiceClassName = "MSISCSITARGET_StorageConfigurationService"

// ElementType values of CreateOrModifyElementFromStoragePool (2.51).
const (
	elementTypeStorageVolume     uint16 = 2
	elementTypeThinStorageVolume uint16 = 5
)

// storageConfigurationMethods declares CreateOrModifyElementFromStoragePool
// and ReturnToStoragePool as in Device/CIM_StorageConfigurationService.mof
// (2.51 value maps; Windows' parameter set, WIN
// createormodifyelementfromstoragepool-msiscsitarget-storageconfigurationservice.md),
// implemented by create and ret (nil: declared only).
func storageConfigurationMethods(create, ret cimmodel.MethodFunc) []*cimmodel.Method {
	commonCodes := []string{"0", "1", "2", "3", "4", "5", "6", "7..4095", "4096"}
	commonNames := []string{"Job Completed with No Error", "Not Supported", "Unknown", "Timeout", "Failed",
		"Invalid Parameter", "In Use", "DMTF Reserved", "Method Parameters Checked - Job Started"}
	return []*cimmodel.Method{
		{
			Name:       "CreateOrModifyElementFromStoragePool",
			ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: append(append([]string(nil), commonCodes...),
				"4097", "4098..32767", "32768..39999", "40000", "40001..65535"),
			ReturnValues: append(append([]string(nil), commonNames...),
				"Size Not Supported", "Method Reserved", "Vendor Specific", "Not Enough Available Capacity", "Vendor Specific"),
			Params: []cimmodel.Parameter{
				{Name: "ElementName", Type: cimmodel.TypeString, In: true},
				{Name: "ElementType", Type: cimmodel.TypeUint16, In: true,
					ValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "..", "32768..65535"},
					Values: []string{"Unknown", "Reserved", "StorageVolume", "StorageExtent", "LogicalDisk",
						"ThinlyProvisionedStorageVolume", "ThinlyProvisionedLogicalDisk",
						"ThinlyProvisionedAllocatedStoragePool", "ThinlyProvisionedQuotaStoragePool",
						"ThinlyProvisionedLimitlessStoragePool", "DMTF Reserved", "Vendor Specific"}},
				{Name: "Job", Type: cimmodel.TypeReference, Out: true, RefClass: "CIM_ConcreteJob"},
				{Name: "Goal", Type: cimmodel.TypeReference, In: true, RefClass: "CIM_ManagedElement"},
				{Name: "Size", Type: cimmodel.TypeUint64, In: true, Out: true},
				{Name: "InPool", Type: cimmodel.TypeReference, In: true, RefClass: "CIM_StoragePool"},
				{Name: "TheElement", Type: cimmodel.TypeReference, In: true, Out: true, RefClass: "CIM_LogicalElement"},
			},
			Func: create,
			Description: "Creates a sparse volume in a pool, or grows an existing one. Both complete at once: " +
				"ReturnValue 0 with TheElement and Size, never a Job.",
		},
		{
			Name:           "ReturnToStoragePool",
			ReturnType:     cimmodel.TypeUint32,
			ReturnValueMap: append(append([]string(nil), commonCodes...), "4097..32767", "32768", "32769..65535"),
			ReturnValues: append(append([]string(nil), commonNames...),
				"Method Reserved", "Element Is In A Replication Relationship", "Vendor Specific"),
			Params: []cimmodel.Parameter{
				{Name: "Job", Type: cimmodel.TypeReference, Out: true, RefClass: "CIM_ConcreteJob"},
				{Name: "TheElement", Type: cimmodel.TypeReference, In: true, Required: true, RefClass: "CIM_LogicalElement"},
			},
			Func:        ret,
			Description: "Deletes a volume and its image file at once: ReturnValue 0, never a Job.",
		},
	}
}

// storageConfigurationServiceClass declares
// MSISCSITARGET_StorageConfigurationService, the singleton service hosted by
// the system that creates (CreateOrModifyElementFromStoragePool) and deletes
// (ReturnToStoragePool) volumes. Creating a sparse file is instant, so both
// methods answer 0 and leave the Job out-parameter out.
func (p *Provider) storageConfigurationServiceClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: storageConfigurationServiceClassName, Superclass: "CIM_StorageConfigurationService",
		Namespace: Namespace, Methods: storageConfigurationMethods(p.createOrModifyElement, p.returnToStoragePool)}
	path := p.servicePath(storageConfigurationServiceClassName)
	c.Provider = singleton(func() *cimmodel.Instance {
		inst := cimmodel.NewInstance(c)
		for _, k := range path.Keys {
			inst.Set(k.Name, k.Value)
		}
		return inst.
			Set("ElementName", cimmodel.String("replicad storage configuration service")).
			Set("Description", cimmodel.String("Creates, grows and deletes sparse image volumes in storage pools")).
			Set("OperationalStatus", cimmodel.Uint16s([]uint16{statusOK})).
			Set("Started", cimmodel.Bool(true)).
			Set("StartMode", cimmodel.String("Automatic")).
			Set("EnabledState", cimmodel.Uint16(enabledStateNotApplicable)).
			Set("RequestedState", cimmodel.Uint16(requestedStateNotApplic)).
			Set("EnabledDefault", cimmodel.Uint16(enabledDefaultEnabled))
	})
	return c
}

// answer is a method result with only a return value.
func answer(code uint32) cimmodel.Result {
	return cimmodel.Result{ReturnValue: code}
}

// createOrModifyElement implements CreateOrModifyElementFromStoragePool.
// Without TheElement it creates a volume named ElementName (a generated
// name when NULL) of Size bytes (rounded up to the block size) in InPool
// (the default pool when NULL); with TheElement it grows that volume to
// Size. Answers: 0 with TheElement and the actual Size; 5 for a missing
// Size, an unknown pool or volume, an InPool together with TheElement, an
// ElementType that is not a volume type when modifying, a name volumes
// refuses or one already taken; 4097 for a size of 0, smaller than the
// volume, or past a thin pool's over-commit limit (then with Size, the most
// the pool accepts); 40000 when the pool's space runs out (a thick pool's
// free space less what its volumes reserve); 1 for other element types, a Goal,
// or a new name for an existing volume (renaming is not supported); 6 when
// the volume is leased.
func (p *Provider) createOrModifyElement(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	elementType, typed := in.Get("ElementType")
	volumeType := true
	if t, ok := elementType.AsUint64(); ok && typed {
		volumeType = uint16(t) == elementTypeStorageVolume || uint16(t) == elementTypeThinStorageVolume
	}
	if goal, ok := in.Get("Goal"); ok && !goal.IsNull() {
		return p.refuse("CreateOrModifyElementFromStoragePool", returnNotSupported, "Goal is not supported")
	}
	name, hasName := argString(in, "ElementName")
	size, hasSize := argUint64(in, "Size")
	if elem, ok := argRef(in, "TheElement"); ok {
		if _, pooled := argRef(in, "InPool"); pooled {
			return p.refuse("CreateOrModifyElementFromStoragePool", returnInvalidParameter, "InPool must be NULL when TheElement is given")
		}
		if !volumeType {
			return p.refuse("CreateOrModifyElementFromStoragePool", returnInvalidParameter, "ElementType does not match TheElement, a storage volume")
		}
		return p.modifyVolume(ctx, elem, name, hasName, size, hasSize)
	}
	if !volumeType {
		return p.refuse("CreateOrModifyElementFromStoragePool", returnNotSupported, "only storage volumes (ElementType 2 or 5) can be created")
	}
	if !hasSize {
		return p.refuse("CreateOrModifyElementFromStoragePool", returnInvalidParameter, "Size is required to create a volume")
	}
	pool := volumes.DefaultPool
	if ref, ok := argRef(in, "InPool"); ok {
		pl, err := p.poolFromPath(ctx, ref)
		if err != nil {
			return p.refuseErr("CreateOrModifyElementFromStoragePool", err)
		}
		pool = pl.Name
	}
	if !hasName {
		name = "volume-" + uuid.NewString()[:8]
	}
	v, err := p.volumes.Create(ctx, pool, name, size)
	if err != nil {
		return p.refuseErr("CreateOrModifyElementFromStoragePool", fmt.Errorf("create volume %q in pool %q: %w", name, pool, err))
	}
	p.logger.Info("volume created", zap.String("id", string(v.ID)), zap.String("name", v.Name),
		zap.String("pool", v.Pool), zap.Uint64("bytes", v.SizeBytes))
	return volumeResult(p.volumePath(v.ID), v), nil
}

// modifyVolume grows the volume elem names to size; a name other than the
// current one is refused (volumes cannot be renamed).
func (p *Provider) modifyVolume(ctx context.Context, elem cimmodel.ObjectPath, name string, hasName bool, size uint64, hasSize bool) (cimmodel.Result, error) {
	v, err := p.volumeFromPath(ctx, elem)
	if err != nil {
		return p.refuseErr("CreateOrModifyElementFromStoragePool", err)
	}
	if hasName && name != v.Name {
		return p.refuse("CreateOrModifyElementFromStoragePool", returnNotSupported, "renaming a volume is not supported")
	}
	if hasSize && size != v.SizeBytes {
		grown, err := p.volumes.Grow(ctx, v.ID, size)
		if err != nil {
			return p.refuseErr("CreateOrModifyElementFromStoragePool", fmt.Errorf("grow volume %s to %d bytes: %w", v.ID, size, err))
		}
		p.logger.Info("volume grown", zap.String("id", string(v.ID)), zap.Uint64("bytes", grown.SizeBytes))
		v = grown
	}
	return volumeResult(p.volumePath(v.ID), v), nil
}

// volumeResult is the answer 0 with TheElement and Size.
func volumeResult(path cimmodel.ObjectPath, v *volumes.Volume) cimmodel.Result {
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{
		"TheElement": cimmodel.Ref(path),
		"Size":       cimmodel.Uint64(v.SizeBytes),
	}}
}

// returnToStoragePool implements ReturnToStoragePool: it deletes the
// volume TheElement names and its image file. Answers: 0; 5 when
// TheElement names no volume of ours; 6 when the volume is leased; 32768
// when it is in a replication relationship.
func (p *Provider) returnToStoragePool(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	elem, ok := argRef(in, "TheElement")
	if !ok {
		return p.refuse("ReturnToStoragePool", returnInvalidParameter, "TheElement is required")
	}
	v, err := p.volumeFromPath(ctx, elem)
	if err == nil {
		err = p.deleteVolume(ctx, v)
	}
	if err != nil {
		return p.refuseErr("ReturnToStoragePool", err)
	}
	return answer(returnOK), nil
}

// refuse answers code, logs why and says it in ExtendedStatus.
func (p *Provider) refuse(method string, code uint32, why string) (cimmodel.Result, error) {
	p.logger.Info("storage method refused", zap.String("method", method), zap.Uint32("returnValue", code), zap.String("reason", why))
	return p.refusal(code, statusOfCode(code), method+": "+why), nil
}

// refuseErr answers the table's code for err, logs err and says the
// domain's reason in ExtendedStatus. A context error
// becomes a fault (the caller went away or timed out), not a return value.
func (p *Provider) refuseErr(method string, err error) (cimmodel.Result, error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return cimmodel.Result{}, err
	}
	code := storageReturnCode(err)
	p.logger.Info("storage method refused", zap.String("method", method), zap.Uint32("returnValue", code), zap.Error(err))
	res := p.refusalErr(method, code, err)
	var se *volumes.SpaceError
	if code == returnSizeNotSupported && errors.As(err, &se) {
		// "the output value of Size is set to the nearest possible size"
		// (CIM_StorageConfigurationService.CreateOrModifyElementFromStoragePool).
		res.Out["Size"] = cimmodel.Uint64(se.Available / volumes.BlockSize * volumes.BlockSize)
	}
	return res, nil
}
