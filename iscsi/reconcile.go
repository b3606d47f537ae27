package iscsi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
)

// fileID identifies an open file by device and inode.
type fileID struct{ dev, ino uint64 }

// reconcileLocked makes tgtd serve what the store says for the targets
// named in only (every target when only is nil): it creates missing
// targets, removes LUNs that map no recorded volume, that serve another
// file than the volume's current one (a copy installed by rename) or
// whose read-only flag differs, adds missing LUNs, binds and unbinds
// initiator names and CHAP accounts, and sets each target ready, or
// offline while it is quiesced. Targets tgtd has and the store does not are
// deleted. It goes on after an error and returns them all. s.mu is held.
func (s *Service) reconcileLocked(ctx context.Context, only map[string]bool) error {
	pid := s.tgtdPid()
	if pid == 0 {
		return fmt.Errorf("%w: tgtd is not running", ErrUnavailable)
	}
	shown, err := s.adm.show(ctx)
	if err != nil {
		return err
	}
	var recs []targetRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		recs, err = allTargets(tx)
		return err
	}); err != nil {
		return err
	}
	byIQN := map[string]*shownTarget{}
	nextTID := 1
	for i := range shown {
		byIQN[shown[i].IQN] = &shown[i]
		nextTID = max(nextTID, shown[i].TID+1)
	}
	held := heldFiles(pid)
	var errs []error
	wanted := map[string]bool{}
	for _, rec := range recs {
		wanted[s.iqn(rec.Name)] = true
		if only != nil && !only[rec.Name] {
			continue
		}
		cur := byIQN[s.iqn(rec.Name)]
		if cur == nil {
			tid := nextTID
			nextTID++
			if err := s.adm.newTarget(ctx, tid, s.iqn(rec.Name)); err != nil {
				errs = append(errs, err)
				continue
			}
			cur = &shownTarget{TID: tid, IQN: s.iqn(rec.Name), State: "ready"}
			s.log.Info("target created in tgtd", zap.String("target", rec.Name), zap.Int("tid", tid))
		}
		if err := s.syncTarget(ctx, rec, cur, held); err != nil {
			errs = append(errs, fmt.Errorf("target %s: %w", rec.Name, err))
		}
	}
	for _, t := range shown {
		name, _ := strings.CutPrefix(t.IQN, s.baseIQN+":")
		if wanted[t.IQN] || (only != nil && !only[name]) {
			continue
		}
		s.log.Info("deleting a target the store does not have", zap.String("iqn", t.IQN), zap.Int("tid", t.TID))
		if err := s.adm.deleteTarget(ctx, t.TID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncTarget makes one tgtd target (cur) match rec.
func (s *Service) syncTarget(ctx context.Context, rec targetRecord, cur *shownTarget, held map[fileID]bool) error {
	var errs []error
	tid := cur.TID
	want := map[int]lunRecord{}
	for _, l := range rec.LUNs {
		want[l.Number] = l
	}
	present := map[int]bool{}
	for _, l := range cur.LUNs {
		if l.Number == 0 {
			continue
		}
		if w, ok := want[l.Number]; ok && s.lunMatches(ctx, w, l, held, s.sizes[lunKey{tid, l.Number}]) {
			present[l.Number] = true
			continue
		}
		s.log.Info("removing a LUN from tgtd", zap.String("target", rec.Name), zap.Int("lun", l.Number), zap.String("serial", l.Serial))
		if err := s.adm.deleteLUN(ctx, tid, l.Number); err != nil {
			errs = append(errs, err)
		}
	}
	for _, w := range rec.LUNs {
		if present[w.Number] {
			continue
		}
		if w.ReadOnly && cur.State != "offline" {
			// tgt takes readonly=1 only after the LUN exists: keep
			// initiators out until it is set.
			if err := s.adm.setTargetState(ctx, tid, "offline"); err != nil {
				errs = append(errs, err)
				continue
			}
			cur.State = "offline"
		}
		if err := s.addLUN(ctx, tid, w); err != nil {
			errs = append(errs, fmt.Errorf("LUN %d (%s/%s): %w", w.Number, w.Pool, w.Volume, err))
		}
	}
	errs = append(errs, s.syncACLs(ctx, tid, rec.Initiators, cur.ACLs))
	errs = append(errs, s.syncCHAP(ctx, tid, rec.CHAP, cur.Accounts))
	state := "ready"
	if s.quiesced[rec.Name] > 0 {
		state = "offline"
	}
	if cur.State != state {
		errs = append(errs, s.adm.setTargetState(ctx, tid, state))
	}
	return errors.Join(errs...)
}

// lunMatches reports whether tgtd's LUN l serves w: the volume's ID as
// serial number, the same read-only flag, the file the volume's path
// names now still open in tgtd (held; nil when tgtd's files cannot be
// read) and, when known (size > 0), of the size tgtd opened it with.
func (s *Service) lunMatches(ctx context.Context, w lunRecord, l shownLUN, held map[fileID]bool, size int64) bool {
	if l.Serial != string(w.VolumeID) || l.ReadOnly != w.ReadOnly {
		return false
	}
	if held == nil {
		return true
	}
	v, err := s.vols.Get(ctx, w.VolumeID)
	if err != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(v.Path(), &st); err != nil {
		return false
	}
	if size > 0 && st.Size != size {
		return false
	}
	return held[fileID{uint64(st.Dev), st.Ino}]
}

// addLUN maps volume w as LUN w.Number of target tid. The volume's file is
// opened here, beneath its pool's directory handle without following any
// symlink (volumes.OpenImage), and tgtd is given /proc/<our pid>/fd/<fd>:
// opening that magic link reaches the very file we opened, so no path is
// looked up again between the check and tgtd's open (no TOCTOU window).
// Our descriptor is closed once tgtd holds its own.
func (s *Service) addLUN(ctx context.Context, tid int, w lunRecord) error {
	v, err := s.vols.Get(ctx, w.VolumeID)
	if err != nil {
		return fmt.Errorf("%w: volume %s/%s: %w", ErrNotFound, w.Pool, w.Volume, err)
	}
	if v.Pool != w.Pool || v.Name != w.Volume {
		return fmt.Errorf("%w: volume %s is now %s/%s", ErrNotFound, w.VolumeID, v.Pool, v.Name)
	}
	f, err := s.vols.OpenImage(ctx, w.VolumeID, !w.ReadOnly)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd())
	if err := s.adm.newLUN(ctx, tid, w.Number, path); err != nil {
		return err
	}
	params := "scsi_sn=" + string(w.VolumeID)
	if w.ReadOnly {
		params += ",readonly=1"
	}
	if err := s.adm.updateLUN(ctx, tid, w.Number, params); err != nil {
		if derr := s.adm.deleteLUN(ctx, tid, w.Number); derr != nil {
			err = errors.Join(err, derr)
		}
		return err
	}
	s.sizes[lunKey{tid, w.Number}] = fi.Size()
	s.log.Info("LUN added to tgtd", zap.Int("tid", tid), zap.Int("lun", w.Number), zap.String("pool", w.Pool),
		zap.String("volume", w.Volume), zap.Bool("readOnly", w.ReadOnly))
	return nil
}

// syncACLs binds the initiator names of want that tgtd lacks and unbinds
// those it has beyond want.
func (s *Service) syncACLs(ctx context.Context, tid int, want, have []string) error {
	var errs []error
	wantSet, haveSet := setOf(want), setOf(have)
	for _, iqn := range have {
		if !wantSet[iqn] {
			errs = append(errs, s.adm.unbindInitiator(ctx, tid, iqn))
		}
	}
	for _, iqn := range want {
		if !haveSet[iqn] {
			errs = append(errs, s.adm.bindInitiator(ctx, tid, iqn))
		}
	}
	return errors.Join(errs...)
}

// syncCHAP binds the target's CHAP account (creating it, or re-creating it
// when its secret changed) and unbinds any other.
func (s *Service) syncCHAP(ctx context.Context, tid int, want *CHAP, have []string) error {
	var errs []error
	for _, u := range have {
		if want == nil || u != want.User {
			errs = append(errs, s.adm.unbindAccount(ctx, tid, u))
		}
	}
	if want == nil {
		return errors.Join(errs...)
	}
	if secret, ok := s.accounts[want.User]; !ok || secret != want.Secret {
		if ok {
			_ = s.adm.deleteAccount(ctx, want.User)
		}
		if err := s.adm.newAccount(ctx, want.User, want.Secret); err != nil {
			return errors.Join(append(errs, err)...)
		}
		s.accounts[want.User] = want.Secret
		have = nil // a re-created account is bound nowhere
	}
	if !setOf(have)[want.User] {
		errs = append(errs, s.adm.bindAccount(ctx, tid, want.User))
	}
	return errors.Join(errs...)
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// heldFiles returns the files process pid has open, by device and inode;
// nil when its descriptors cannot be read.
func heldFiles(pid int) map[fileID]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	held := map[fileID]bool{}
	for _, e := range ents {
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join(dir, e.Name()), &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			held[fileID{uint64(st.Dev), st.Ino}] = true
		}
	}
	return held
}
