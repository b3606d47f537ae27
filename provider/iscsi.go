package provider

import (
	"context"

	"github.com/replicad/replicad/iscsi"
)

// iscsiBackend is what the masking and iSCSI classes ask of the data plane:
// the methods of *iscsi.Service they use, so that their tests can serve
// them from a fake without a tgtd.
type iscsiBackend interface {
	Portal() iscsi.Portal
	BaseIQN() string
	Targets() ([]iscsi.Target, error)
	Target(name string) (iscsi.Target, error)
	CreateTarget(name string, initiators []string) (iscsi.Target, error)
	DeleteTarget(name string, force bool) error
	Expose(target string, vols []iscsi.VolumeRef, initiators []string, readOnly bool) (iscsi.Target, error)
	Hide(target string, vols []iscsi.VolumeRef, initiators []string) (iscsi.Target, error)
	HardwareIDs() ([]iscsi.HardwareID, error)
	CreateHardwareID(id, elementName string) (iscsi.HardwareID, error)
	DeleteHardwareID(id string) error
	Sessions() ([]iscsi.Session, error)
	ExposedIn(pool, volume string) []string
	Quiesce(ctx context.Context, vols []iscsi.VolumeRef) (resume func(), err error)
}

var _ iscsiBackend = (*iscsi.Service)(nil)
