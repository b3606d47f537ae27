package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/volumes"
)

// clientSelectableDeviceNumbers: ExposePaths honours DeviceNumbers (the
// data plane maps a volume at the LUN asked for).
const clientSelectableDeviceNumbers = true

// Return values of CIM_ControllerConfigurationService.ExposePaths and
// HidePaths beyond 0..5 (Device/CIM_ControllerConfigurationService.mof 2.51;
// WIN exposepaths-msiscsitarget-controllerconfigurationservice.md and
// hidepaths-…md give the same numbers).
const (
	returnInvalidLUID          uint32 = 4097 // Invalid logical unit ID
	returnInvalidInitiatorPort uint32 = 4098 // Invalid initiator port ID
	returnInvalidTargetPort    uint32 = 4099 // Invalid target port ID
	returnInvalidPermission    uint32 = 4100 // ExposePaths: Invalid permission
	returnNotExposed           uint32 = 4100 // HidePaths: Target/initiator combination not exposed
	returnLUNInUse             uint32 = 4102 // ExposePaths: Requested logical unit number in use
	returnBusy                 uint32 = 4097 // DeleteProtocolController: Busy
)

// controllerConfigurationMethods declares ExposePaths, HidePaths and
// DeleteProtocolController as Windows' MSISCSITARGET_ControllerConfigurationService
// overrides them (parameters and return maps of the 2.51 MOF, which agree).
func (p *Provider) controllerConfigurationMethods() []*cimmodel.Method {
	common := []string{"Success", "Not Supported", "Unspecified Error", "Timeout", "Failed", "Invalid Parameter", "DMTF Reserved"}
	job := cimmodel.Parameter{Name: "Job", Type: cimmodel.TypeReference, Out: true, RefClass: "CIM_ConcreteJob"}
	strs := func(name string) cimmodel.Parameter {
		return cimmodel.Parameter{Name: name, Type: cimmodel.TypeString, Array: true, In: true}
	}
	spcs := cimmodel.Parameter{Name: "ProtocolControllers", Type: cimmodel.TypeReference, Array: true, In: true, Out: true,
		RefClass: "CIM_SCSIProtocolController"}
	return []*cimmodel.Method{
		{
			Name: "ExposePaths", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6..4095", "4096", "4097", "4098", "4099", "4100", "4101",
				"4102", "4103", "4104..32767", "32768..65535"},
			ReturnValues: append(append([]string(nil), common...), "Method Parameters Checked - Job Started",
				"Invalid logical unit ID", "Invalid initiator port ID", "Invalid target port ID", "Invalid permission",
				"Target/initiator combination already exposed", "Requested logical unit number in use",
				"Maximum Map Count Exceeded", "Method Reserved", "Vendor Specific"),
			Params: []cimmodel.Parameter{job, strs("LUNames"), strs("InitiatorPortIDs"), strs("TargetPortIDs"), strs("DeviceNumbers"),
				{Name: "DeviceAccesses", Type: cimmodel.TypeUint16, Array: true, In: true, ValueMap: deviceAccessMap, Values: deviceAccessValues},
				spcs},
			Func: p.exposePaths,
			Description: "Maps volumes (LUNames: StorageVolume.Name) into an iSCSI target and allows initiators (InitiatorPortIDs: " +
				"iSCSI names) to log in to it; creates the target when ProtocolControllers is NULL. Completes within the call.",
		},
		{
			Name: "HidePaths", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6..4095", "4096", "4097", "4098", "4099", "4100",
				"4101..32767", "32768..65535"},
			ReturnValues: append(append([]string(nil), common...), "Method Parameters Checked - Job Started",
				"Invalid logical unit ID", "Invalid initiator port ID", "Invalid target port ID",
				"Target/initiator combination not exposed", "Method Reserved", "Vendor Specific"),
			Params: []cimmodel.Parameter{job, strs("LUNames"), strs("InitiatorPortIDs"), strs("TargetPortIDs"), spcs},
			Func:   p.hidePaths,
			Description: "Unmaps volumes from, or disallows initiators of, the one iSCSI target in ProtocolControllers. " +
				"Completes within the call; the target stays (SPCAllowsNoLUs, SPCAllowsNoInitiators).",
		},
		{
			Name: "DeleteProtocolController", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6..4095", "4096", "4097", "4098..32767", "32768..65535"},
			ReturnValues: append(append([]string(nil), common...),
				"LogicalDevices Associated to Other ProtocolControllers Not Deleted", "Busy", "Method Reserved", "Vendor Specific"),
			Params: []cimmodel.Parameter{
				{Name: "ProtocolController", Type: cimmodel.TypeReference, In: true, Required: true, RefClass: "CIM_ProtocolController"},
				{Name: "DeleteChildrenProtocolControllers", Type: cimmodel.TypeBoolean, In: true},
				{Name: "DeleteUnits", Type: cimmodel.TypeBoolean, In: true},
			},
			Func: p.deleteProtocolController,
			Description: "Deletes an iSCSI target and its LUN mappings; with DeleteUnits also the volumes no other target maps " +
				"(4096 when some stay). Busy (4097) while initiators are logged in.",
		},
	}
}

// controllerConfigurationServiceClass declares
// MSISCSITARGET_ControllerConfigurationService, the singleton service that
// exposes and hides volumes.
func (p *Provider) controllerConfigurationServiceClass() *cimmodel.Class {
	return p.serviceClass(controllerConfigServiceClass, "CIM_ControllerConfigurationService",
		"replicad controller configuration service",
		"Exposes volumes to iSCSI initiators through targets (SMI-S Masking and Mapping)",
		p.controllerConfigurationMethods())
}

// maskRefuse answers code, logs why and says it in ExtendedStatus.
func (p *Provider) maskRefuse(method string, code uint32, why string) (cimmodel.Result, error) {
	p.logger.Info("masking method refused", zap.String("method", method), zap.Uint32("returnValue", code), zap.String("reason", why))
	return p.refusal(code, statusOfCode(code), method+": "+why), nil
}

// maskRefuseErr answers the table's code of method for a domain error.
// A context error becomes a fault.
func (p *Provider) maskRefuseErr(method string, err error) (cimmodel.Result, error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return cimmodel.Result{}, err
	}
	code := maskingReturnCode(method, err)
	p.logger.Info("masking method refused", zap.String("method", method), zap.Uint32("returnValue", code), zap.Error(err))
	return p.refusalErr(method, code, err), nil
}

// maskOff is the answer of every masking method while the data plane is
// off: 1, Not Supported.
func (p *Provider) maskOff(method string) (cimmodel.Result, error) {
	return p.maskRefuse(method, returnNotSupported, errISCSIOff.Error())
}

// argStrings returns a string array argument (nil and false when absent
// or NULL).
func argStrings(in cimmodel.Args, name string) ([]string, bool) {
	v, ok := in.Get(name)
	if !ok || v.IsNull() {
		return nil, false
	}
	var out []string
	for _, e := range v.Elems() {
		s, _ := e.AsString()
		out = append(out, s)
	}
	return out, true
}

// argUint16s returns a uint16 array argument.
func argUint16s(in cimmodel.Args, name string) ([]uint16, bool) {
	v, ok := in.Get(name)
	if !ok || v.IsNull() {
		return nil, false
	}
	var out []uint16
	for _, e := range v.Elems() {
		n, _ := e.AsUint64()
		out = append(out, uint16(n))
	}
	return out, true
}

// refusalOf is a method's refusal found before any change: the return
// value and the reason the client reads in ExtendedStatus.
type refusalOf struct {
	code uint32
	why  string
}

func (r *refusalOf) Error() string { return r.why }

// refuseWith builds a refusalOf.
func refuseWith(code uint32, format string, args ...any) *refusalOf {
	return &refusalOf{code: code, why: fmt.Sprintf(format, args...)}
}

// answerRefusal turns a refusalOf or a domain error into the method's
// answer.
func (p *Provider) answerRefusal(method string, err error) (cimmodel.Result, error) {
	var r *refusalOf
	if errors.As(err, &r) {
		return p.maskRefuse(method, r.code, r.why)
	}
	return p.maskRefuseErr(method, err)
}

// spcArg resolves the ProtocolControllers argument: none (create), or
// exactly one SPC of ours; more than one is Invalid Parameter (WIN).
func (p *Provider) spcArg(in cimmodel.Args, required bool) (*iscsi.Target, error) {
	refs := argRefs(in, "ProtocolControllers")
	switch {
	case len(refs) > 1:
		return nil, refuseWith(returnInvalidParameter, "ProtocolControllers names %d controllers; give one", len(refs))
	case len(refs) == 0 && required:
		return nil, refuseWith(returnInvalidParameter, "ProtocolControllers must name exactly one SCSIProtocolController")
	case len(refs) == 0:
		return nil, nil
	}
	t, err := p.targetFromPath(refs[0])
	if errors.Is(err, iscsi.ErrNotFound) {
		return nil, refuseWith(returnInvalidParameter, "ProtocolControllers: %s names no iSCSI target", refs[0])
	} else if err != nil {
		return nil, err
	}
	return &t, nil
}

// luArg resolves LUNames (StorageVolume.Name, which is the volume ID) to
// volumes; an unknown name is 4097, a repeated one Invalid Parameter.
func (p *Provider) luArg(ctx context.Context, names []string) ([]*volumes.Volume, error) {
	var out []*volumes.Volume
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return nil, refuseWith(returnInvalidParameter, "LUNames names %q twice", n)
		}
		seen[n] = true
		v, err := p.volumes.Get(ctx, volumes.ID(n))
		if errors.Is(err, volumes.ErrNotFound) {
			return nil, refuseWith(returnInvalidLUID, "LUNames: no volume has the Name %q", n)
		} else if err != nil {
			return nil, fmt.Errorf("volume %q: %w", n, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// initiatorArg checks InitiatorPortIDs: iSCSI names (iqn., eui., naa.)
// as the data plane accepts them; any other is 4098.
func initiatorArg(ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if err := iscsi.CheckIQN(id); err != nil {
			return nil, refuseWith(returnInvalidInitiatorPort, "InitiatorPortIDs: %q is not an iSCSI name this target accepts (%s)",
				id, strings.TrimPrefix(err.Error(), "iscsi: invalid: "))
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// targetPortArg checks TargetPortIDs against the one port of target t
// (nil: a target to be created, which has no port yet): anything else is
// 4099.
func (p *Provider) targetPortArg(ids []string, t *iscsi.Target) error {
	for _, id := range ids {
		if t == nil {
			return refuseWith(returnInvalidTargetPort, "TargetPortIDs: %q: a new target gets its own port; give none", id)
		}
		if want := p.targetPortName(*t); !strings.EqualFold(id, want) {
			return refuseWith(returnInvalidTargetPort, "TargetPortIDs: %q is not the port of target %s (%s)", id, t.Name, want)
		}
	}
	return nil
}

// exposeRequest is ExposePaths' arguments once checked.
type exposeRequest struct {
	target     *iscsi.Target
	vols       []*volumes.Volume
	refs       []iscsi.VolumeRef
	initiators []string
	readOnly   bool
}

// exposePaths implements ExposePaths: every argument is checked before
// anything changes, then one Expose of the data plane does the change.
// Answers: 0 with ProtocolControllers; 1 while the data plane is off; 5
// for malformed arrays, several or unknown ProtocolControllers, nothing to
// expose; 4097 unknown LUNames; 4098 a malformed initiator name; 4099 a
// target port that is not the target's; 4100 DeviceAccesses other than
// Read Write or Read-Only, or mixed in one call; 4102 a DeviceNumber taken
// by another volume, or other than the volume's in this target.
func (p *Provider) exposePaths(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "ExposePaths"
	if p.iscsi == nil {
		return p.maskOff(method)
	}
	req, err := p.exposeArgs(ctx, in)
	if err != nil {
		return p.answerRefusal(method, err)
	}
	name := ""
	if req.target != nil {
		name = req.target.Name
	}
	t, err := p.iscsi.Expose(name, req.refs, req.initiators, req.readOnly)
	if err != nil {
		return p.maskRefuseErr(method, err)
	}
	p.recordHardwareIDs(req.initiators)
	p.logger.Info("paths exposed", zap.String("target", t.Name), zap.Int("volumes", len(req.refs)),
		zap.Strings("initiators", req.initiators), zap.Bool("readOnly", req.readOnly))
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{
		"ProtocolControllers": cimmodel.Refs([]cimmodel.ObjectPath{p.spcPath(t.Name)}),
	}}, nil
}

// exposeArgs checks ExposePaths' arguments (see exposePaths).
func (p *Provider) exposeArgs(ctx context.Context, in cimmodel.Args) (*exposeRequest, error) {
	req := &exposeRequest{}
	var err error
	if req.target, err = p.spcArg(in, false); err != nil {
		return nil, err
	}
	luNames, _ := argStrings(in, "LUNames")
	numbers, hasNumbers := argStrings(in, "DeviceNumbers")
	accesses, _ := argUint16s(in, "DeviceAccesses")
	inits, _ := argStrings(in, "InitiatorPortIDs")
	ports, _ := argStrings(in, "TargetPortIDs")
	if len(luNames) == 0 && (len(numbers) > 0 || len(accesses) > 0) {
		return nil, refuseWith(returnInvalidParameter, "DeviceNumbers and DeviceAccesses must be NULL when LUNames is")
	}
	if len(luNames) > 0 && len(accesses) != len(luNames) {
		return nil, refuseWith(returnInvalidParameter, "DeviceAccesses has %d elements, LUNames %d: give one access per logical unit",
			len(accesses), len(luNames))
	}
	if hasNumbers && len(numbers) != len(luNames) {
		return nil, refuseWith(returnInvalidParameter, "DeviceNumbers has %d elements, LUNames %d: give one per logical unit or NULL",
			len(numbers), len(luNames))
	}
	if req.vols, err = p.luArg(ctx, luNames); err != nil {
		return nil, err
	}
	if req.readOnly, err = accessArg(accesses); err != nil {
		return nil, err
	}
	luns, err := deviceNumbersArg(numbers)
	if err != nil {
		return nil, err
	}
	if req.initiators, err = initiatorArg(inits); err != nil {
		return nil, err
	}
	if err := p.targetPortArg(ports, req.target); err != nil {
		return nil, err
	}
	if len(req.vols) == 0 && len(req.initiators) == 0 && (req.target == nil || len(ports) == 0) {
		return nil, refuseWith(returnInvalidParameter, "nothing to expose: give LUNames, InitiatorPortIDs or both")
	}
	for i, v := range req.vols {
		ref := iscsi.VolumeRef{Pool: v.Pool, Volume: v.Name}
		if luns != nil {
			ref.LUN = luns[i]
		}
		req.refs = append(req.refs, ref)
	}
	if req.target != nil {
		if err := lunConflicts(*req.target, req.refs); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// accessArg checks DeviceAccesses: all Read Write (2) or all Read-Only
// (3). Unknown (0), No Access (4) and vendor values are 4100: tgt maps a
// LUN readable or read-write, and one call maps its LUNs one way.
func accessArg(accesses []uint16) (readOnly bool, err error) {
	for i, a := range accesses {
		if a != deviceAccessReadWrite && a != deviceAccessReadOnly {
			return false, refuseWith(returnInvalidPermission, "DeviceAccesses[%d] = %d: only Read Write (2) and Read-Only (3) are supported", i, a)
		}
		if a != accesses[0] {
			return false, refuseWith(returnInvalidPermission, "DeviceAccesses mixes Read Write and Read-Only; expose each kind in its own call")
		}
	}
	return len(accesses) > 0 && accesses[0] == deviceAccessReadOnly, nil
}

// deviceNumbersArg parses DeviceNumbers: decimal LUNs 1..255 (or hex with
// 0x), each once; nil when absent. LUN 0 is tgt's controller.
func deviceNumbersArg(numbers []string) ([]int, error) {
	if numbers == nil {
		return nil, nil
	}
	out := make([]int, 0, len(numbers))
	for i, s := range numbers {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 32)
		if err != nil || n < 1 || n > 255 {
			return nil, refuseWith(returnInvalidParameter, "DeviceNumbers[%d] = %q: a logical unit number is 1..255 (0 is the target's controller)", i, s)
		}
		if slices.Contains(out, int(n)) {
			return nil, refuseWith(returnLUNInUse, "DeviceNumbers asks for LUN %d twice", n)
		}
		out = append(out, int(n))
	}
	return out, nil
}

// lunConflicts checks requested LUNs against target t: a number mapping
// another volume, or a volume mapped under another number, is 4102.
func lunConflicts(t iscsi.Target, refs []iscsi.VolumeRef) error {
	for _, r := range refs {
		for _, l := range t.LUNs {
			same := l.Pool == r.Pool && l.Volume == r.Volume
			if r.LUN != 0 && l.Number == r.LUN && !same {
				return refuseWith(returnLUNInUse, "LUN %d of target %s maps volume %s/%s already", r.LUN, t.Name, l.Pool, l.Volume)
			}
			if same && r.LUN != 0 && l.Number != r.LUN {
				return refuseWith(returnLUNInUse, "volume %s/%s is LUN %d of target %s already", r.Pool, r.Volume, l.Number, t.Name)
			}
		}
	}
	return nil
}

// recordHardwareIDs records initiators not known yet as StorageHardwareIDs
// (ExposePaths creates them implicitly, WIN); a failure is only logged:
// the mask itself is in place and shows the ID anyway.
func (p *Provider) recordHardwareIDs(initiators []string) {
	for _, id := range initiators {
		if _, err := p.iscsi.CreateHardwareID(id, ""); err != nil && !errors.Is(err, iscsi.ErrExists) {
			p.logger.Warn("record hardware ID", zap.String("id", id), zap.Error(err))
		}
	}
}

// hidePaths implements HidePaths on the one SPC in ProtocolControllers.
// Answers: 0 with ProtocolControllers; 1 while the data plane is off, or
// for removing the target's only port; 5 without exactly one known SPC or
// with nothing to hide; 4097 unknown LUNames; 4098 malformed initiator
// names; 4099 a port that is not the target's; 4100 a volume the target
// does not map or an initiator it does not allow.
func (p *Provider) hidePaths(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "HidePaths"
	if p.iscsi == nil {
		return p.maskOff(method)
	}
	t, refs, inits, err := p.hideArgs(ctx, in)
	if err != nil {
		return p.answerRefusal(method, err)
	}
	if _, err := p.iscsi.Hide(t.Name, refs, inits); err != nil {
		return p.maskRefuseErr(method, err)
	}
	p.logger.Info("paths hidden", zap.String("target", t.Name), zap.Int("volumes", len(refs)), zap.Strings("initiators", inits))
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{
		"ProtocolControllers": cimmodel.Refs([]cimmodel.ObjectPath{p.spcPath(t.Name)}),
	}}, nil
}

// hideArgs checks HidePaths' arguments (see hidePaths).
func (p *Provider) hideArgs(ctx context.Context, in cimmodel.Args) (iscsi.Target, []iscsi.VolumeRef, []string, error) {
	tp, err := p.spcArg(in, true)
	if err != nil {
		return iscsi.Target{}, nil, nil, err
	}
	t := *tp
	luNames, _ := argStrings(in, "LUNames")
	ids, _ := argStrings(in, "InitiatorPortIDs")
	ports, _ := argStrings(in, "TargetPortIDs")
	vols, err := p.luArg(ctx, luNames)
	if err != nil {
		return t, nil, nil, err
	}
	inits, err := initiatorArg(ids)
	if err != nil {
		return t, nil, nil, err
	}
	if err := p.targetPortArg(ports, &t); err != nil {
		return t, nil, nil, err
	}
	if len(vols) == 0 && len(inits) == 0 {
		if len(ports) > 0 {
			return t, nil, nil, refuseWith(returnNotSupported, "target %s has one port, which cannot be removed; DeleteProtocolController deletes the target", t.Name)
		}
		return t, nil, nil, refuseWith(returnInvalidParameter, "nothing to hide: give LUNames or InitiatorPortIDs")
	}
	var refs []iscsi.VolumeRef
	for _, v := range vols {
		ref := iscsi.VolumeRef{Pool: v.Pool, Volume: v.Name}
		if !slices.ContainsFunc(t.LUNs, func(l iscsi.LUN) bool { return l.Pool == ref.Pool && l.Volume == ref.Volume }) {
			return t, nil, nil, refuseWith(returnNotExposed, "target %s does not map volume %s (%s/%s)", t.Name, v.ID, v.Pool, v.Name)
		}
		refs = append(refs, ref)
	}
	for _, id := range inits {
		if !slices.Contains(t.Initiators, id) {
			return t, nil, nil, refuseWith(returnNotExposed, "target %s does not allow initiator %s", t.Name, id)
		}
	}
	return t, refs, inits, nil
}

// deleteProtocolController implements DeleteProtocolController: it deletes
// the target with its LUN mappings and mask; the volumes stay unless
// DeleteUnits, which deletes those no other target maps. Answers: 0; 1
// while the data plane is off; 4 (before any change) when DeleteUnits
// would delete a volume in a replication relationship; 5 for a reference
// that names no target; 4096 when DeleteUnits kept volumes other targets
// map; 4097 (Busy) while initiators are logged in to it.
func (p *Provider) deleteProtocolController(ctx context.Context, _ cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "DeleteProtocolController"
	if p.iscsi == nil {
		return p.maskOff(method)
	}
	ref, _ := argRef(in, "ProtocolController")
	t, err := p.targetFromPath(ref)
	if errors.Is(err, iscsi.ErrNotFound) {
		return p.maskRefuse(method, returnInvalidParameter, fmt.Sprintf("ProtocolController: %s names no iSCSI target", ref))
	} else if err != nil {
		return p.maskRefuseErr(method, err)
	}
	var units, kept []*volumes.Volume
	if del, _ := argBool(in, "DeleteUnits"); del {
		if units, kept, err = p.unitsToDelete(ctx, t); err != nil {
			return p.answerRefusal(method, err)
		}
	}
	if err := p.deleteTarget(t.Name); err != nil {
		var r *refusalOf
		if errors.As(err, &r) {
			r.code = returnBusy
		}
		return p.answerRefusal(method, err)
	}
	for _, v := range units {
		if err := p.deleteVolume(ctx, v); err != nil {
			return p.maskRefuseErr(method, fmt.Errorf("target %s deleted, but not its volume: %w", t.Name, err))
		}
	}
	if len(kept) > 0 {
		var names []string
		for _, v := range kept {
			names = append(names, v.Name)
		}
		return p.maskRefuse(method, returnUnitsKept, fmt.Sprintf("target %s deleted; volumes %s stay: other targets map them",
			t.Name, strings.Join(names, ", ")))
	}
	return answer(returnOK), nil
}

// returnUnitsKept is DeleteProtocolController's 4096, LogicalDevices
// Associated to Other ProtocolControllers Not Deleted.
const returnUnitsKept uint32 = 4096

// unitsToDelete splits the volumes target t maps into those
// DeleteProtocolController(DeleteUnits) deletes and those it keeps because
// other targets map them (WIN: a LogicalDevice stays while another
// ProtocolController uses it). A volume in a replication relationship is
// a refusal (4, Failed) before anything changes.
func (p *Provider) unitsToDelete(ctx context.Context, t iscsi.Target) (del, kept []*volumes.Volume, err error) {
	ts, err := p.iscsi.Targets()
	if err != nil {
		return nil, nil, fmt.Errorf("list targets: %w", err)
	}
	for _, l := range t.LUNs {
		v, err := p.volumes.Lookup(ctx, l.Pool, l.Volume)
		if errors.Is(err, volumes.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("volume %s/%s: %w", l.Pool, l.Volume, err)
		}
		shared := slices.ContainsFunc(ts, func(o iscsi.Target) bool {
			return o.Name != t.Name && slices.ContainsFunc(o.LUNs, func(ol iscsi.LUN) bool { return ol.Pool == l.Pool && ol.Volume == l.Volume })
		})
		if shared {
			kept = append(kept, v)
			continue
		}
		role, err := p.repl.svc.RoleOf(ctx, v.ID)
		if err != nil {
			return nil, nil, err
		}
		if role.InRelationship() {
			return nil, nil, refuseWith(returnFailed, "DeleteUnits: volume %s is a replication source or target; end the relationship first", v.Name)
		}
		del = append(del, v)
	}
	return del, kept, nil
}

// deleteTarget deletes target name unless initiators are logged in to it
// (a refusalOf whose code the caller sets).
func (p *Provider) deleteTarget(name string) error {
	ss, err := p.iscsi.Sessions()
	if err != nil {
		return fmt.Errorf("sessions of target %s: %w", name, err)
	}
	for _, s := range ss {
		if s.Target == name {
			return refuseWith(returnFailed, "initiator %s is logged in to target %s; it must log out first", s.Initiator, name)
		}
	}
	if err := p.iscsi.DeleteTarget(name, true); err != nil {
		return fmt.Errorf("delete target %s: %w", name, err)
	}
	p.logger.Info("target deleted", zap.String("target", name))
	return nil
}
