package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/replica"
)

// iscsiMode is --iscsi: on (tgtd must start), off, or auto (the default:
// on when tgtd is installed; a tgtd that cannot start is logged and the
// data plane answers Unavailable).
type iscsiMode string

const (
	iscsiOn   iscsiMode = "on"
	iscsiOff  iscsiMode = "off"
	iscsiAuto iscsiMode = "auto"
)

func (m *iscsiMode) String() string { return string(*m) }

// IsBoolFlag lets a bare --iscsi mean on; other values need --iscsi=VALUE.
func (m *iscsiMode) IsBoolFlag() bool { return true }

func (m *iscsiMode) Set(s string) error {
	switch iscsiMode(s) {
	case iscsiOn, iscsiOff, iscsiAuto:
		*m = iscsiMode(s)
		return nil
	case "true", "1":
		*m = iscsiOn
		return nil
	case "false", "0":
		*m = iscsiOff
		return nil
	}
	return fmt.Errorf("--iscsi must be on, off or auto, not %q", s)
}

// openISCSI opens the iSCSI data plane on the store (after volumes) and
// installs its guard in volumes, so that an exposed volume is never
// deleted, even with --iscsi=off. Unless off it starts tgtd (DATA/iscsi:
// its socket, pid file and log) on --iscsi-listen.
func (m *Main) openISCSI(ctx context.Context) error {
	cfg := &m.Config
	log := m.Logger.Named("iscsi")
	svc, err := iscsi.Open(m.DB, m.Volumes, iscsi.Options{Dir: filepath.Join(cfg.DataDir, "iscsi"),
		Listen: cfg.ISCSIListen, BaseIQN: cfg.ISCSIBaseIQN, Logger: log})
	if err != nil {
		return err
	}
	m.ISCSI = svc
	m.Volumes.SetInUse(svc.GuardVolume)
	mode := cfg.ISCSI
	if mode == iscsiAuto || mode == "" {
		if _, err := exec.LookPath("tgtd"); err != nil {
			log.Info("tgtd is not installed: the iSCSI data plane is off", zap.Error(err))
			mode = iscsiOff
		}
	}
	if mode == iscsiOff {
		return nil
	}
	if err := svc.Start(ctx); err != nil {
		if mode == iscsiOn {
			return err
		}
		log.Error("the iSCSI data plane could not start; its methods answer Unavailable (--iscsi=on makes this fatal)", zap.Error(err))
	}
	m.iscsiOn = true
	return nil
}

// iscsiService is the data plane the provider serves, nil when it is off.
func (m *Main) iscsiService() *iscsi.Service {
	if !m.iscsiOn {
		return nil
	}
	return m.ISCSI
}

// iscsiQuiesce is replica's quiesce hook, nil when the data plane is off.
func (m *Main) iscsiQuiesce() replica.QuiesceFunc {
	if !m.iscsiOn {
		return nil
	}
	return m.ISCSI.QuiesceVolumes
}

// closeISCSI stops tgtd and removes the guard from volumes.
func (m *Main) closeISCSI() error {
	if m.ISCSI == nil {
		return nil
	}
	err := m.ISCSI.Close()
	if m.Volumes != nil {
		m.Volumes.SetInUse(nil)
	}
	return errors.Join(err)
}
