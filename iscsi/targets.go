package iscsi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Targets returns every target, sorted by Name.
func (s *Service) Targets() ([]Target, error) {
	var recs []targetRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		recs, err = allTargets(tx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("iscsi: targets: %w", err)
	}
	out := make([]Target, 0, len(recs))
	for _, r := range recs {
		out = append(out, s.target(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Target returns the target called name. Errors: ErrNotFound.
func (s *Service) Target(name string) (Target, error) {
	var rec targetRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		rec, err = getTarget(tx, name)
		return err
	}); err != nil {
		return Target{}, fmt.Errorf("iscsi: target %s: %w", name, err)
	}
	return s.target(rec), nil
}

// TargetByIQN returns the target whose IQN is iqn. Errors: ErrNotFound.
func (s *Service) TargetByIQN(iqn string) (Target, error) {
	name, ok := strings.CutPrefix(iqn, s.baseIQN+":")
	if !ok {
		return Target{}, fmt.Errorf("iscsi: target %s: %w", iqn, ErrNotFound)
	}
	return s.Target(name)
}

// CreateTarget creates an empty target that allows initiators. Errors:
// ErrInvalid (name or an IQN), ErrExists, ErrUnavailable.
func (s *Service) CreateTarget(name string, initiators []string) (Target, error) {
	wrap := func(err error) (Target, error) { return Target{}, fmt.Errorf("iscsi: create target %s: %w", name, err) }
	if err := CheckTargetName(name); err != nil {
		return wrap(err)
	}
	inits, err := checkInitiators(initiators)
	if err != nil {
		return wrap(err)
	}
	rec, err := s.change(name, func(_ *store.Tx, rec *targetRecord, exists bool) error {
		if exists {
			return ErrExists
		}
		rec.Initiators = inits
		return nil
	})
	if err != nil {
		return wrap(err)
	}
	return s.target(*rec), nil
}

// DeleteTarget removes the target called name. Without force it fails with
// ErrInUse while the target maps LUNs or has live sessions; with force the
// sessions are dropped.
func (s *Service) DeleteTarget(name string, force bool) error {
	if !force {
		t, err := s.Target(name)
		if err != nil {
			return err
		}
		if len(t.LUNs) > 0 {
			return fmt.Errorf("iscsi: delete target %s: %w: it maps %d LUN(s)", name, ErrInUse, len(t.LUNs))
		}
		sessions, err := s.Sessions()
		if err != nil {
			return fmt.Errorf("iscsi: delete target %s: %w", name, err)
		}
		for _, x := range sessions {
			if x.Target == name {
				return fmt.Errorf("iscsi: delete target %s: %w: initiator %s is logged in", name, ErrInUse, x.Initiator)
			}
		}
	}
	_, err := s.change(name, func(_ *store.Tx, _ *targetRecord, exists bool) error {
		if !exists {
			return ErrNotFound
		}
		return errDelete
	})
	if err != nil {
		return fmt.Errorf("iscsi: delete target %s: %w", name, err)
	}
	return nil
}

// errDelete, returned by a change function, deletes the record.
var errDelete = errors.New("delete the record")

// Expose maps vols into target (creating it, with a generated name, when
// target is ""; vols and initiators may then be empty), allows
// initiators, and returns the target. A volume not
// mapped yet gets the lowest free LUN number (1..255); one already mapped
// keeps its number and takes readOnly. One transaction in the store, then
// tgtadm; if tgtadm fails the store change is rolled back and tgtd is
// reconciled to it (no partial state). Errors: ErrInvalid, ErrNotFound
// (target or volume), ErrUnavailable.
func (s *Service) Expose(target string, vols []VolumeRef, initiators []string, readOnly bool) (Target, error) {
	wrap := func(err error) (Target, error) {
		return Target{}, fmt.Errorf("iscsi: expose in target %q: %w", target, err)
	}
	if target != "" {
		if err := CheckTargetName(target); err != nil {
			return wrap(err)
		}
	}
	inits, err := checkInitiators(initiators)
	if err != nil {
		return wrap(err)
	}
	ids, err := s.resolve(vols)
	if err != nil {
		return wrap(err)
	}
	name := target
	if name == "" {
		if name, err = s.newTargetName(); err != nil {
			return wrap(err)
		}
	}
	rec, err := s.change(name, func(_ *store.Tx, rec *targetRecord, exists bool) error {
		if !exists && target != "" {
			return fmt.Errorf("%w: target %s", ErrNotFound, target)
		}
		for i, v := range vols {
			if err := rec.mapVolume(ids[i], v, readOnly); err != nil {
				return err
			}
		}
		rec.Initiators = union(rec.Initiators, inits)
		return nil
	})
	if err != nil {
		return wrap(err)
	}
	return s.target(*rec), nil
}

// mapVolume maps volume id (v) into r with v.LUN or the lowest free
// number, or updates its read-only flag when r maps it already. Errors:
// ErrExists (the number maps another volume, or the volume has another
// number), ErrInvalid (a number outside 1..255, or none free).
func (r *targetRecord) mapVolume(id volumes.ID, v VolumeRef, readOnly bool) error {
	if v.LUN < 0 || v.LUN > 255 {
		return fmt.Errorf("%w: LUN %d not in 1..255", ErrInvalid, v.LUN)
	}
	if j := r.lunOf(id); j >= 0 {
		if v.LUN != 0 && v.LUN != r.LUNs[j].Number {
			return fmt.Errorf("%w: volume %s/%s is LUN %d of target %s already", ErrExists, v.Pool, v.Volume, r.LUNs[j].Number, r.Name)
		}
		r.LUNs[j].ReadOnly = readOnly
		return nil
	}
	n := v.LUN
	if n == 0 {
		if n = r.freeLUN(); n == 0 {
			return fmt.Errorf("%w: target %s has no free LUN number", ErrInvalid, r.Name)
		}
	}
	for _, l := range r.LUNs {
		if l.Number == n {
			return fmt.Errorf("%w: LUN %d of target %s maps volume %s/%s", ErrExists, n, r.Name, l.Pool, l.Volume)
		}
	}
	r.LUNs = append(r.LUNs, lunRecord{Number: n, VolumeID: id, Pool: v.Pool, Volume: v.Volume, ReadOnly: readOnly})
	return nil
}

// Hide unmaps vols from target and disallows initiators; either may be
// empty. Errors: ErrNotFound (target, or a volume it does not map),
// ErrUnavailable.
func (s *Service) Hide(target string, vols []VolumeRef, initiators []string) (Target, error) {
	rec, err := s.change(target, func(_ *store.Tx, rec *targetRecord, exists bool) error {
		if !exists {
			return ErrNotFound
		}
		for _, v := range vols {
			i := -1
			for j, l := range rec.LUNs {
				if l.Pool == v.Pool && l.Volume == v.Volume {
					i = j
				}
			}
			if i < 0 {
				return fmt.Errorf("%w: volume %s/%s is not mapped", ErrNotFound, v.Pool, v.Volume)
			}
			rec.LUNs = append(rec.LUNs[:i], rec.LUNs[i+1:]...)
		}
		drop := setOf(initiators)
		kept := rec.Initiators[:0]
		for _, iqn := range rec.Initiators {
			if !drop[iqn] {
				kept = append(kept, iqn)
			}
		}
		rec.Initiators = kept
		return nil
	})
	if err != nil {
		return Target{}, fmt.Errorf("iscsi: hide in target %s: %w", target, err)
	}
	return s.target(*rec), nil
}

// SetCHAP sets (chap != nil) or clears the CHAP credential initiators must
// present to log in to target. Errors: ErrNotFound, ErrInvalid,
// ErrUnavailable.
func (s *Service) SetCHAP(target string, chap *CHAP) (Target, error) {
	if err := checkCHAP(chap); err != nil {
		return Target{}, fmt.Errorf("iscsi: CHAP of target %s: %w", target, err)
	}
	rec, err := s.change(target, func(tx *store.Tx, rec *targetRecord, exists bool) error {
		if !exists {
			return ErrNotFound
		}
		if chap != nil {
			all, err := allTargets(tx)
			if err != nil {
				return err
			}
			for _, o := range all {
				if o.Name != target && o.CHAP != nil && o.CHAP.User == chap.User && o.CHAP.Secret != chap.Secret {
					return fmt.Errorf("%w: CHAP user %s has another secret in target %s (tgt's accounts are global)", ErrExists, chap.User, o.Name)
				}
			}
			c := *chap
			rec.CHAP = &c
		} else {
			rec.CHAP = nil
		}
		return nil
	})
	if err != nil {
		return Target{}, fmt.Errorf("iscsi: CHAP of target %s: %w", target, err)
	}
	return s.target(*rec), nil
}

// change applies fn to the record of target name (a zero record with that
// name when there is none: exists false) in one store transaction, then
// makes tgtd match. fn returning errDelete deletes the record. When tgtd
// refuses, the old record is put back and tgtd reconciled to it, so the
// store and tgtd never keep half a change.
func (s *Service) change(name string, fn func(tx *store.Tx, rec *targetRecord, exists bool) error) (*targetRecord, error) {
	ctx := context.Background()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tgtdPid() == 0 {
		return nil, fmt.Errorf("%w: tgtd is not running", ErrUnavailable)
	}
	var old, rec *targetRecord
	err := s.db.Update(func(tx *store.Tx) error {
		cur, err := getTarget(tx, name)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if exists {
			o := cur.clone()
			old = &o
		} else {
			cur = targetRecord{V: recordVersion, Name: name, Created: s.now()}
		}
		switch err := fn(tx, &cur, exists); {
		case errors.Is(err, errDelete):
			return tx.Delete(bucketTargets, name)
		case err != nil:
			return err
		}
		cur.normalize()
		rec = &cur
		return tx.Put(bucketTargets, name, cur)
	})
	if err != nil {
		return nil, err
	}
	only := map[string]bool{name: true}
	if err := s.reconcileLocked(ctx, only); err != nil {
		rerr := s.db.Update(func(tx *store.Tx) error {
			if old == nil {
				return tx.Delete(bucketTargets, name)
			}
			return tx.Put(bucketTargets, name, *old)
		})
		if rerr == nil {
			rerr = s.reconcileLocked(ctx, only)
		}
		if rerr != nil {
			s.log.Error("roll back a target change tgtd refused: " + rerr.Error())
		}
		return nil, err
	}
	return rec, nil
}

// resolve looks up vols and returns their IDs. Errors: ErrNotFound,
// ErrInvalid (an empty name).
func (s *Service) resolve(vols []VolumeRef) ([]volumes.ID, error) {
	ids := make([]volumes.ID, len(vols))
	seen := map[VolumeRef]bool{}
	for i, v := range vols {
		key := VolumeRef{Pool: v.Pool, Volume: v.Volume}
		if seen[key] {
			return nil, fmt.Errorf("%w: volume %s/%s named twice", ErrInvalid, v.Pool, v.Volume)
		}
		seen[key] = true
		vol, err := s.vols.Lookup(context.Background(), v.Pool, v.Volume)
		if errors.Is(err, volumes.ErrInvalidName) {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if vol.Missing {
			return nil, fmt.Errorf("%w: volume %s/%s: its file is missing", ErrNotFound, v.Pool, v.Volume)
		}
		ids[i] = vol.ID
	}
	return ids, nil
}

// newTargetName returns an unused generated target name, "target-N".
func (s *Service) newTargetName() (string, error) {
	var name string
	err := s.db.Update(func(tx *store.Tx) error {
		for {
			n, err := tx.NextSequence(bucketMeta)
			if err != nil {
				return err
			}
			name = "target-" + strconv.FormatUint(n, 10)
			var r targetRecord
			if ok, err := tx.Get(bucketTargets, name, &r); err != nil || !ok {
				return err
			}
		}
	})
	return name, err
}

// checkInitiators validates and de-duplicates initiator IQNs, sorted.
func checkInitiators(in []string) ([]string, error) {
	for _, iqn := range in {
		if err := CheckIQN(iqn); err != nil {
			return nil, err
		}
	}
	return union(nil, in), nil
}

// union returns the sorted union of a and b without duplicates.
func union(a, b []string) []string {
	set := setOf(a)
	for _, x := range b {
		set[x] = true
	}
	out := make([]string, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}

// HardwareIDs returns the known initiator identities, sorted by ID.
func (s *Service) HardwareIDs() ([]HardwareID, error) {
	var out []HardwareID
	err := s.db.View(func(tx *store.Tx) error {
		return tx.ForEach(bucketHWIDs, func(_ string, raw []byte) error {
			var h HardwareID
			if err := store.Decode(raw, &h); err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("iscsi: hardware IDs: %w", err)
	}
	return out, nil
}

// CreateHardwareID records an initiator identity. Errors: ErrInvalid (not
// an iSCSI name), ErrExists.
func (s *Service) CreateHardwareID(id, elementName string) (HardwareID, error) {
	if err := CheckIQN(id); err != nil {
		return HardwareID{}, fmt.Errorf("iscsi: create hardware ID: %w", err)
	}
	h := HardwareID{ID: id, ElementName: elementName}
	err := s.db.Update(func(tx *store.Tx) error {
		var cur HardwareID
		if ok, err := tx.Get(bucketHWIDs, id, &cur); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%w: hardware ID %s", ErrExists, id)
		}
		return tx.Put(bucketHWIDs, id, h)
	})
	if err != nil {
		return HardwareID{}, fmt.Errorf("iscsi: create hardware ID: %w", err)
	}
	return h, nil
}

// DeleteHardwareID forgets an initiator identity; targets that allow it
// keep allowing it. Errors: ErrNotFound.
func (s *Service) DeleteHardwareID(id string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		var cur HardwareID
		if ok, err := tx.Get(bucketHWIDs, id, &cur); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: hardware ID %s", ErrNotFound, id)
		}
		return tx.Delete(bucketHWIDs, id)
	})
	if err != nil {
		return fmt.Errorf("iscsi: delete hardware ID: %w", err)
	}
	return nil
}

// Sessions returns the live sessions, from tgtadm --op show, sorted by
// target and session ID. Errors: ErrUnavailable.
func (s *Service) Sessions() ([]Session, error) {
	shown, err := s.adm.show(context.Background())
	if err != nil {
		return nil, fmt.Errorf("iscsi: sessions: %w", err)
	}
	var out []Session
	for _, t := range shown {
		name, _ := strings.CutPrefix(t.IQN, s.baseIQN+":")
		for _, nx := range t.Nexuses {
			x := Session{Target: name, Initiator: nx.Initiator, SessionID: nx.ID, Connections: len(nx.Addresses)}
			if len(nx.Addresses) > 0 {
				x.Address = nx.Addresses[0]
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// ExposedIn lists the names of the targets that map the volume, sorted;
// nil when none does (or the store cannot be read: the error is logged).
func (s *Service) ExposedIn(pool, volume string) []string {
	var names []string
	err := s.db.View(func(tx *store.Tx) error {
		recs, err := allTargets(tx)
		for _, r := range recs {
			for _, l := range r.LUNs {
				if l.Pool == pool && l.Volume == volume {
					names = append(names, r.Name)
					break
				}
			}
		}
		return err
	})
	if err != nil {
		s.log.Error("read targets: " + err.Error())
	}
	sort.Strings(names)
	return names
}

// GuardVolume is the check volumes.Service.SetInUse takes: nil when no
// target exposes pool/volume, else an error matching ErrInUse whose text
// names the targets ("iSCSI target(s) a, b"; volumes makes it "volume in
// use by iSCSI target(s) a, b").
func (s *Service) GuardVolume(pool, volume string) error {
	if names := s.ExposedIn(pool, volume); len(names) > 0 {
		return exposedError(names)
	}
	return nil
}

// exposedError names the targets that expose a volume; it matches ErrInUse.
type exposedError []string

func (e exposedError) Error() string { return "iSCSI target(s) " + strings.Join(e, ", ") }

// Is reports whether target is ErrInUse.
func (e exposedError) Is(target error) bool { return target == ErrInUse }
