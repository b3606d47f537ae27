package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
)

// fakeISCSI is an in-memory data plane with the rules of package iscsi
// (names, IQNs, LUN numbers) and no tgtd, for the provider's tests. fail,
// when set, is returned by every change.
type fakeISCSI struct {
	mu       sync.Mutex
	targets  map[string]*iscsi.Target
	hwids    map[string]iscsi.HardwareID
	sessions []iscsi.Session
	// sessionsErr, when set, is what Sessions returns (tgtd down).
	sessionsErr error
	fail        error
	next        int
}

var _ iscsiBackend = (*fakeISCSI)(nil)

func newFakeISCSI() *fakeISCSI {
	return &fakeISCSI{targets: map[string]*iscsi.Target{}, hwids: map[string]iscsi.HardwareID{}}
}

const fakeBaseIQN = "iqn.2026-12.test.replicad"

func (f *fakeISCSI) Portal() iscsi.Portal {
	return iscsi.Portal{Address: "127.0.0.1", Port: 3260, TPGT: 1}
}
func (f *fakeISCSI) BaseIQN() string { return fakeBaseIQN }

func cloneTarget(t *iscsi.Target) iscsi.Target {
	c := *t
	c.Initiators = slices.Clone(t.Initiators)
	c.LUNs = slices.Clone(t.LUNs)
	return c
}

func (f *fakeISCSI) Targets() ([]iscsi.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []iscsi.Target
	for _, t := range f.targets {
		out = append(out, cloneTarget(t))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeISCSI) Target(name string) (iscsi.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.targets[name]
	if !ok {
		return iscsi.Target{}, fmt.Errorf("target %s: %w", name, iscsi.ErrNotFound)
	}
	return cloneTarget(t), nil
}

func (f *fakeISCSI) CreateTarget(name string, initiators []string) (iscsi.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return iscsi.Target{}, f.fail
	}
	if err := iscsi.CheckTargetName(name); err != nil {
		return iscsi.Target{}, err
	}
	if _, ok := f.targets[name]; ok {
		return iscsi.Target{}, fmt.Errorf("target %s: %w", name, iscsi.ErrExists)
	}
	t := &iscsi.Target{Name: name, IQN: fakeBaseIQN + ":" + name, Initiators: slices.Clone(initiators)}
	f.targets[name] = t
	return cloneTarget(t), nil
}

func (f *fakeISCSI) DeleteTarget(name string, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	t, ok := f.targets[name]
	if !ok {
		return iscsi.ErrNotFound
	}
	if !force && len(t.LUNs) > 0 {
		return iscsi.ErrInUse
	}
	delete(f.targets, name)
	return nil
}

func (f *fakeISCSI) Expose(target string, vols []iscsi.VolumeRef, initiators []string, readOnly bool) (iscsi.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return iscsi.Target{}, f.fail
	}
	for _, in := range initiators {
		if err := iscsi.CheckIQN(in); err != nil {
			return iscsi.Target{}, err
		}
	}
	t, ok := f.targets[target]
	if target == "" {
		if len(vols) == 0 && len(initiators) == 0 {
			return iscsi.Target{}, fmt.Errorf("%w: nothing to expose", iscsi.ErrInvalid)
		}
		f.next++
		name := fmt.Sprintf("target-%d", f.next)
		t = &iscsi.Target{Name: name, IQN: fakeBaseIQN + ":" + name}
	} else if !ok {
		return iscsi.Target{}, iscsi.ErrNotFound
	}
	c := cloneTarget(t)
	for _, v := range vols {
		if err := mapLUN(&c, v, readOnly); err != nil {
			return iscsi.Target{}, err
		}
	}
	for _, in := range initiators {
		if !slices.Contains(c.Initiators, in) {
			c.Initiators = append(c.Initiators, in)
		}
	}
	sort.Strings(c.Initiators)
	sort.Slice(c.LUNs, func(i, j int) bool { return c.LUNs[i].Number < c.LUNs[j].Number })
	f.targets[c.Name] = &c
	return cloneTarget(&c), nil
}

// mapLUN is package iscsi's mapVolume.
func mapLUN(t *iscsi.Target, v iscsi.VolumeRef, readOnly bool) error {
	for i, l := range t.LUNs {
		if l.Pool == v.Pool && l.Volume == v.Volume {
			if v.LUN != 0 && v.LUN != l.Number {
				return fmt.Errorf("%w: volume has another LUN", iscsi.ErrExists)
			}
			t.LUNs[i].ReadOnly = readOnly
			return nil
		}
	}
	n := v.LUN
	if n == 0 {
		for n = 1; slices.ContainsFunc(t.LUNs, func(l iscsi.LUN) bool { return l.Number == n }); n++ {
		}
	}
	for _, l := range t.LUNs {
		if l.Number == n {
			return fmt.Errorf("%w: LUN %d taken", iscsi.ErrExists, n)
		}
	}
	t.LUNs = append(t.LUNs, iscsi.LUN{Number: n, Pool: v.Pool, Volume: v.Volume, ReadOnly: readOnly})
	return nil
}

func (f *fakeISCSI) Hide(target string, vols []iscsi.VolumeRef, initiators []string) (iscsi.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return iscsi.Target{}, f.fail
	}
	t, ok := f.targets[target]
	if !ok {
		return iscsi.Target{}, iscsi.ErrNotFound
	}
	c := cloneTarget(t)
	for _, v := range vols {
		i := slices.IndexFunc(c.LUNs, func(l iscsi.LUN) bool { return l.Pool == v.Pool && l.Volume == v.Volume })
		if i < 0 {
			return iscsi.Target{}, iscsi.ErrNotFound
		}
		c.LUNs = slices.Delete(c.LUNs, i, i+1)
	}
	c.Initiators = slices.DeleteFunc(c.Initiators, func(s string) bool { return slices.Contains(initiators, s) })
	f.targets[target] = &c
	return cloneTarget(&c), nil
}

func (f *fakeISCSI) HardwareIDs() ([]iscsi.HardwareID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []iscsi.HardwareID
	for _, h := range f.hwids {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeISCSI) CreateHardwareID(id, elementName string) (iscsi.HardwareID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return iscsi.HardwareID{}, f.fail
	}
	if err := iscsi.CheckIQN(id); err != nil {
		return iscsi.HardwareID{}, err
	}
	if _, ok := f.hwids[id]; ok {
		return iscsi.HardwareID{}, fmt.Errorf("hardware ID %s: %w", id, iscsi.ErrExists)
	}
	f.hwids[id] = iscsi.HardwareID{ID: id, ElementName: elementName}
	return f.hwids[id], nil
}

func (f *fakeISCSI) DeleteHardwareID(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if _, ok := f.hwids[id]; !ok {
		return iscsi.ErrNotFound
	}
	delete(f.hwids, id)
	return nil
}

func (f *fakeISCSI) Sessions() ([]iscsi.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sessionsErr != nil {
		return nil, f.sessionsErr
	}
	return slices.Clone(f.sessions), nil
}

func (f *fakeISCSI) ExposedIn(pool, volume string) []string { return nil }

func (f *fakeISCSI) Quiesce(ctx context.Context, vols []iscsi.VolumeRef) (func(), error) {
	return func() {}, nil
}

// state is what bad input must not change: targets, LUNs, masks and IDs.
func (f *fakeISCSI) state() string {
	ts, _ := f.Targets()
	hs, _ := f.HardwareIDs()
	return fmt.Sprintf("%+v %+v", ts, hs)
}

// maskEnv is a storage environment whose provider has a fake data plane.
type maskEnv struct {
	*storageEnv
	fake *fakeISCSI
}

func newMaskEnv(t *testing.T) *maskEnv {
	t.Helper()
	e := &maskEnv{storageEnv: newStorageEnv(t), fake: newFakeISCSI()}
	e.p.iscsi = e.fake
	return e
}

// call invokes method on the singleton service class with params.
func (e *maskEnv) call(class, method string, params ...string) cimmodel.Result {
	e.t.Helper()
	uri := cimmodel.ResourceURI(Namespace, class)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<p:` + method + `_INPUT xmlns:p="` + uri + `">` + strings.Join(params, "") + `</p:` + method + `_INPUT>`); err != nil {
		e.t.Fatalf("input XML: %v", err)
	}
	res, _, err := e.reg.Invoke(context.Background(), e.p.servicePath(class), method, doc.Root())
	var ipe *cimmodel.InvalidParameterError
	if err != nil && !errors.As(err, &ipe) {
		e.t.Fatalf("%s: %v", method, err)
	}
	return res
}

// expose calls ExposePaths.
func (e *maskEnv) expose(params ...string) cimmodel.Result {
	e.t.Helper()
	return e.call(controllerConfigServiceClass, "ExposePaths", params...)
}

// hide calls HidePaths.
func (e *maskEnv) hide(params ...string) cimmodel.Result {
	e.t.Helper()
	return e.call(controllerConfigServiceClass, "HidePaths", params...)
}

// params repeats a scalar element per value (an array parameter).
func params(name string, values ...string) string {
	var b strings.Builder
	for _, v := range values {
		b.WriteString(param(name, v))
	}
	return b.String()
}

// reason is the Message of a result's ExtendedStatus.
func reason(res cimmodel.Result) string {
	inst, ok := res.Out[cimmodel.ExtendedStatusParam].AsInstance()
	if !ok {
		return ""
	}
	return stringOf(inst, "Message")
}

// spcOut is the one SPC reference in ProtocolControllers.
func spcOut(t *testing.T, res cimmodel.Result) cimmodel.ObjectPath {
	t.Helper()
	refs, ok := res.Out["ProtocolControllers"].AsRefs()
	if !ok || len(refs) != 1 {
		t.Fatalf("ProtocolControllers = %v, want one reference", res.Out["ProtocolControllers"])
	}
	return refs[0]
}

// associators lists the paths at the other end of obj's associations of
// class assoc (both directions are asked by the caller).
func (e *maskEnv) associators(obj cimmodel.ObjectPath, assoc, result string) []cimmodel.ObjectPath {
	e.t.Helper()
	insts, err := e.reg.Associators(context.Background(), cimmodel.AssociationFilter{Object: obj, AssociationClassName: assoc, ResultClassName: result})
	if err != nil {
		e.t.Fatalf("associators of %s by %s: %v", obj, assoc, err)
	}
	var out []cimmodel.ObjectPath
	for _, inst := range insts {
		out = append(out, inst.Path())
	}
	return out
}

// enumerate returns every instance of class (and its subclasses).
func (e *maskEnv) enumerate(class string) []*cimmodel.Instance {
	e.t.Helper()
	insts, err := e.reg.Enumerate(context.Background(), Namespace, class)
	if err != nil {
		e.t.Fatalf("enumerate %s: %v", class, err)
	}
	return insts
}

const (
	iqnA = "iqn.2026-12.test.host:a"
	iqnB = "iqn.2026-12.test.host:b"
)
