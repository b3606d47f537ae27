package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

// Values of the StorageVolume properties that do not vary (§3.8).
const (
	dataOrganizationFixedBlock uint16 = 2
	accessReadWrite            uint16 = 3
	nameFormatOther            uint16 = 1
	enabledStateNotApplicable  uint16 = 5
	requestedStateNotApplic    uint16 = 12
	enabledDefaultEnabled      uint16 = 2
)

// storageVolumeClass declares MSISCSITARGET_StorageVolume: one instance per
// volume, DeviceID = the volume ID. ElementName (the volume's name) is
// writable, but volumes cannot be renamed: a Put that keeps the name
// succeeds, one that changes it is StatusNotSupported. A volume whose image
// file is missing shows OperationalStatus [13] (Lost Communication): the
// file may come back, as volumes' Rescan notices. WS-Transfer Delete
// removes the volume and its file, like ReturnToStoragePool.
func (p *Provider) storageVolumeClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: storageVolumeClassName, Superclass: "CIM_StorageVolume", Namespace: Namespace,
		Properties: []cimmodel.Property{
			{Name: "ElementName", Type: cimmodel.TypeString, Write: true,
				Description: "The volume's name; renaming is not supported"},
			{Name: "MSDevicePath", Type: cimmodel.TypeString,
				Description: "Path of the volume's sparse image file (Windows: the VHD path)"},
		}}
	vp := &volumeProvider{p: p, class: c}
	vp.template = vp.newTemplate()
	c.Provider = vp
	return c
}

// volumeProvider serves MSISCSITARGET_StorageVolume.
type volumeProvider struct {
	p     *Provider
	class *cimmodel.Class
	// template holds the values every volume's instance has, and
	// placeholders for those of each volume (instance): a volume's
	// instance is a copy of it, whose map then has room for them all.
	template *cimmodel.Instance
	// paged holds the instances EnumeratePage and GetInstance made
	// (pageInstance).
	paged pagedInstances
}

// pagedInstances are volume instances EnumeratePage and GetInstance made,
// by volume ID, each with what it was made from: a page or a Get reuses
// one while what it was made from is unchanged, since a page's instances
// and a Get's are only read (cimmodel.InstancePager, cimmodel.Registry.Get).
// They are frozen (cimmodel.Instance.Freeze): each keeps its encodings, so
// that writing an unchanged volume into a reply is a copy. At most
// maxPagedInstances are kept; only requests that passed authentication
// reach them, and only volumes that exist are added.
type pagedInstances struct {
	mu sync.Mutex
	m  map[volumes.ID]pagedInstance
}

// maxPagedInstances bounds pagedInstances (about 2 KB each, and up to
// about 4 KB of encodings).
const maxPagedInstances = 1024

// pagedInstance is an instance and what it was made from.
type pagedInstance struct {
	from volumeFacts
	inst *cimmodel.Instance
}

// volumeFacts are all that a volume's instance is made of besides its ID
// (instanceOf reads nothing else; the system's name does not change), so
// that pageInstance can tell when an instance is still current. Created
// compares with ==, location included, as it is written with its zone: a
// record the volumes service decoded once (volumes/records.go) gives the
// same value each time.
type volumeFacts struct {
	name, path string
	blocks     uint64
	created    time.Time
	missing    bool
	usage      uint16
	member     bool
}

func factsOf(v *volumes.Volume, role replica.Role) volumeFacts {
	usage, member := replicationUsage(role)
	return volumeFacts{name: v.Name, path: v.Path(), blocks: v.NumberOfBlocks(), created: v.Created,
		missing: v.Missing, usage: usage, member: member}
}

// pageInstance returns the instance of v, whose replication role is role,
// for a page or a Get: the one made for an earlier one when v and its role
// are as they were, else a new one (instanceOf), frozen. Callers must not
// change it.
func (vp *volumeProvider) pageInstance(v *volumes.Volume, role replica.Role) *cimmodel.Instance {
	facts := factsOf(v, role)
	c := &vp.paged
	c.mu.Lock()
	got, ok := c.m[v.ID]
	c.mu.Unlock()
	if ok && got.from == facts {
		return got.inst
	}
	inst := vp.instanceOf(v.ID, facts).Freeze()
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxPagedInstances {
		c.m = make(map[volumes.ID]pagedInstance)
	}
	c.m[v.ID] = pagedInstance{from: facts, inst: inst}
	c.mu.Unlock()
	return inst
}

var (
	_ cimmodel.InstanceModifier = (*volumeProvider)(nil)
	_ cimmodel.InstanceDeleter  = (*volumeProvider)(nil)
	_ cimmodel.InstancePager    = (*volumeProvider)(nil)
)

// EnumerateInstances returns one instance per volume of every pool.
func (vp *volumeProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	vols, err := vp.p.volumes.List(ctx, "")
	if err != nil {
		return nil, storageError(fmt.Errorf("list volumes: %w", err))
	}
	roles, err := vp.p.repl.svc.Roles(ctx)
	if err != nil {
		return nil, storageError(err)
	}
	out := make([]*cimmodel.Instance, 0, len(vols))
	for _, v := range vols {
		out = append(out, vp.instance(v, roles[v.ID]))
	}
	return out, nil
}

// EnumeratePage returns at most limit volumes whose IDs follow after, in
// ID order (the key of a volume instance that varies is DeviceID, the ID):
// an enumeration context holds the last ID it sent, not the volumes.
func (vp *volumeProvider) EnumeratePage(ctx context.Context, after string, limit int) (cimmodel.Page, error) {
	vols, more, err := vp.p.volumesAfter(ctx, volumes.ID(after), limit)
	if err != nil {
		return cimmodel.Page{}, storageError(err)
	}
	roles, err := vp.p.repl.svc.Roles(ctx)
	if err != nil {
		return cimmodel.Page{}, storageError(err)
	}
	pg := cimmodel.Page{Instances: make([]*cimmodel.Instance, len(vols)), Keys: make([]string, len(vols)), More: more}
	for i, v := range vols {
		pg.Instances[i] = vp.pageInstance(v, roles[v.ID])
		pg.Keys[i] = string(v.ID)
	}
	return pg, nil
}

// volumesAfter returns at most limit volumes of every pool whose IDs
// follow after (byte order), in ID order, and whether more follow; their
// AllocatedBytes is not read (0).
func (p *Provider) volumesAfter(ctx context.Context, after volumes.ID, limit int) ([]*volumes.Volume, bool, error) {
	vols, more, err := p.volumes.ListAfterWithoutAllocation(ctx, after, limit) // instanceOf shows no AllocatedBytes
	if err != nil {
		return nil, false, fmt.Errorf("list volumes: %w", err)
	}
	return vols, more, nil
}

// GetInstance returns the volume named by path's keys, as it is now. The
// instance may be one an earlier Get or page made (pageInstance): callers
// only read it.
func (vp *volumeProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	v, err := vp.p.volumeStateFromPath(ctx, path)
	if err != nil {
		return nil, storageError(err)
	}
	return vp.roledInstance(ctx, v)
}

// ModifyInstance accepts a Put whose ElementName is the current name (or
// absent) and answers StatusNotSupported for a new name.
func (vp *volumeProvider) ModifyInstance(ctx context.Context, path cimmodel.ObjectPath, changes *cimmodel.Instance) (*cimmodel.Instance, error) {
	v, err := vp.p.volumeStateFromPath(ctx, path)
	if err != nil {
		return nil, storageError(err)
	}
	if name, ok := changes.Get("ElementName").AsString(); ok && name != v.Name {
		return nil, cimmodel.Errorf(cimmodel.StatusNotSupported,
			"volume %s: renaming %q to %q is not supported", v.ID, v.Name, name)
	}
	return vp.roledInstance(ctx, v)
}

// DeleteInstance deletes the volume and its image file (see deleteVolume).
func (vp *volumeProvider) DeleteInstance(ctx context.Context, path cimmodel.ObjectPath) error {
	v, err := vp.p.volumeFromPath(ctx, path)
	if err != nil {
		return storageError(err)
	}
	return storageError(vp.p.deleteVolume(ctx, v))
}

// roledInstance is v's instance, asking replica for its role: the kept one
// when v and its role are unchanged (pageInstance), to be only read.
func (vp *volumeProvider) roledInstance(ctx context.Context, v *volumes.Volume) (*cimmodel.Instance, error) {
	role, err := vp.p.repl.svc.RoleOf(ctx, v.ID)
	if err != nil {
		return nil, storageError(err)
	}
	return vp.pageInstance(v, role), nil
}

// volumeOwnValues are the properties whose values differ from one volume
// to another (instance sets them; StatusDescriptions only for a missing
// volume).
var volumeOwnValues = []string{"DeviceID", "ElementName", "Name", "InstallDate", "NumberOfBlocks",
	"ConsumableBlocks", "Usage", "CanDelete", "MSDevicePath", "OperationalStatus"}

// newTemplate returns the instance every volume's is a copy of: the values
// they share, and NULL in the place of their own.
func (vp *volumeProvider) newTemplate() *cimmodel.Instance {
	t := cimmodel.NewInstance(vp.class).
		Set("SystemCreationClassName", cimmodel.String(systemClassName)).
		Set("SystemName", cimmodel.String(vp.p.system)).
		Set("CreationClassName", cimmodel.String(storageVolumeClassName)).
		Set("NameFormat", cimmodel.Uint16(nameFormatOther)).
		Set("NameNamespace", cimmodel.Uint16(nameFormatOther)).
		Set("BlockSize", cimmodel.Uint64(volumes.BlockSize)).
		Set("DataOrganization", cimmodel.Uint16(dataOrganizationFixedBlock)).
		Set("Access", cimmodel.Uint16(accessReadWrite)).
		Set("Primordial", cimmodel.Bool(false)).
		Set("ThinlyProvisioned", cimmodel.Bool(true)).
		Set("EnabledState", cimmodel.Uint16(enabledStateNotApplicable)).
		Set("RequestedState", cimmodel.Uint16(requestedStateNotApplic)).
		Set("EnabledDefault", cimmodel.Uint16(enabledDefaultEnabled))
	for _, name := range volumeOwnValues {
		t.Set(name, cimmodel.Value{})
	}
	return t
}

// instance maps v, whose replication role is role, onto an instance of
// the class.
func (vp *volumeProvider) instance(v *volumes.Volume, role replica.Role) *cimmodel.Instance {
	return vp.instanceOf(v.ID, factsOf(v, role))
}

// instanceOf is the instance of volume id made of f: a copy of the template
// with the volume's own values, stored under their declared names (as Set
// would).
func (vp *volumeProvider) instanceOf(id volumes.ID, f volumeFacts) *cimmodel.Instance {
	inst := vp.template.Copy()
	values := inst.Values
	idv := cimmodel.String(string(id))
	blocks := cimmodel.Uint64(f.blocks)
	values["DeviceID"], values["Name"] = idv, idv
	values["ElementName"] = cimmodel.String(f.name)
	values["InstallDate"] = cimmodel.TimeValue(f.created)
	values["NumberOfBlocks"], values["ConsumableBlocks"] = blocks, blocks
	values["Usage"] = cimmodel.Uint16(f.usage)
	values["CanDelete"] = cimmodel.Bool(!f.member)
	values["MSDevicePath"] = cimmodel.String(f.path)
	if f.missing {
		values["OperationalStatus"] = cimmodel.Uint16s([]uint16{statusLostComm})
		values["StatusDescriptions"] = cimmodel.Strings([]string{"The image file is missing"})
	} else {
		values["OperationalStatus"] = cimmodel.Uint16s([]uint16{statusOK})
	}
	return inst
}

// volumeFromPath returns the volume an object path (or a reference
// parameter) names. Its class may be any class along the StorageVolume
// line (a client may name CIM_StorageVolume); the keys decide: the
// CreationClassName must be MSISCSITARGET_StorageVolume, the system ours.
// Anything else is volumes.ErrNotFound.
func (p *Provider) volumeFromPath(ctx context.Context, path cimmodel.ObjectPath) (*volumes.Volume, error) {
	return p.volumeAtPath(ctx, path, p.volumes.Get)
}

// volumeStateFromPath is volumeFromPath without the volume's AllocatedBytes
// (0), for an instance of the class, which does not show it
// (volumes.Service.GetWithoutAllocation).
func (p *Provider) volumeStateFromPath(ctx context.Context, path cimmodel.ObjectPath) (*volumes.Volume, error) {
	return p.volumeAtPath(ctx, path, p.volumes.GetWithoutAllocation)
}

// volumeAtPath is volumeFromPath with get as the lookup of the volume.
func (p *Provider) volumeAtPath(ctx context.Context, path cimmodel.ObjectPath,
	get func(context.Context, volumes.ID) (*volumes.Volume, error)) (*volumes.Volume, error) {
	id := keyText(path, "DeviceID")
	if id == "" ||
		!strings.EqualFold(keyText(path, "CreationClassName"), storageVolumeClassName) ||
		!strings.EqualFold(keyText(path, "SystemCreationClassName"), systemClassName) ||
		!strings.EqualFold(keyText(path, "SystemName"), p.system) {
		return nil, fmt.Errorf("no volume %s: %w", path, volumes.ErrNotFound)
	}
	if !inNamespace(path) {
		return nil, fmt.Errorf("no volume %s: %w", path, volumes.ErrNotFound)
	}
	v, err := get(ctx, volumes.ID(id))
	if err != nil {
		return nil, fmt.Errorf("volume %s: %w", id, err)
	}
	return v, nil
}

// deleteVolume deletes v unless replica's records name it in a
// synchronization (replica.ErrInRelationship, answered as
// errReplicationMember); volumes refuses a leased volume (ErrInUse).
// replica checks and deletes under one lock, so no request pairs the volume
// in between.
func (p *Provider) deleteVolume(ctx context.Context, v *volumes.Volume) error {
	if err := p.repl.svc.DeleteVolume(ctx, v.ID); err != nil {
		if errors.Is(err, replica.ErrInRelationship) {
			err = fmt.Errorf("%w: %w", errReplicationMember, err)
		}
		return fmt.Errorf("delete volume %s (%s): %w", v.ID, v.Name, err)
	}
	p.logger.Info("volume deleted", zap.String("id", string(v.ID)), zap.String("name", v.Name), zap.String("pool", v.Pool))
	return nil
}
