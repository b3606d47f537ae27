package replica

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/replicad/replicad/beneath"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// bucketIntents holds the journal of changes that span the store and the
// pool directories: one intentRecord per change, written in the same
// transaction as the records it follows from and deleted once every file
// and volume it names is dealt with.
const bucketIntents = "replica.intents"

// Hidden files replica keeps next to a target image.
const (
	sidecarSuffix = ".img.hashes"  // the hash sidecar (sidecarPath)
	partialSuffix = ".img.replica" // the copy being made (partialPath)
)

// intentFile is a hidden file of a target, named by its pool and the
// target's volume name, so that it can be found after the volume is gone.
type intentFile struct {
	Pool   string     `json:"pool"`
	Volume string     `json:"volume"`
	Target volumes.ID `json:"target"`
}

// intentRecord is a journaled change: what is left to do after its store
// transaction committed. Finishing it is idempotent.
type intentRecord struct {
	Version int       `json:"v"`
	ID      string    `json:"id"`
	What    string    `json:"what"`
	Created time.Time `json:"created"`
	// Files are targets whose sidecar and partial copy are to be removed.
	Files []intentFile `json:"files,omitempty"`
	// Delete are target volumes to delete (Return To ResourcePool).
	Delete []volumes.ID `json:"delete,omitempty"`
	// Op and Create journal a replication request's new targets while it
	// creates them: the record that ends the request's creation (record)
	// deletes the intent, so an intent still present means the request
	// never got recorded, and the volumes of these names that carry
	// LabelOp = Op are deleted.
	Op     string       `json:"op,omitempty"`
	Create []intentFile `json:"create,omitempty"`
}

// createIntent journals that request opID is about to create the targets
// named by pools and names ("" names are existing targets).
func (s *Service) createIntent(opID string, pools, names []string) (*intentRecord, error) {
	in := &intentRecord{Version: 1, ID: uuid.NewString(), What: "create targets", Created: s.now(), Op: opID}
	for i, n := range names {
		if n != "" {
			in.Create = append(in.Create, intentFile{Pool: pools[i], Volume: n})
		}
	}
	if len(in.Create) == 0 {
		return nil, nil
	}
	if err := s.db.Update(func(tx *store.Tx) error { return tx.Put(bucketIntents, in.ID, in) }); err != nil {
		return nil, fmt.Errorf("journal new targets: %w", err)
	}
	return in, nil
}

// undoCreates deletes the targets an unrecorded request created: the
// volumes named by in.Create that carry LabelOp = in.Op. s.mu must be held.
func (s *Service) undoCreates(ctx context.Context, in *intentRecord) error {
	var errs []error
	for _, c := range in.Create {
		v, err := s.vols.Lookup(ctx, c.Pool, c.Volume)
		if errVolumeGone(err) || errors.Is(err, volumes.ErrPoolNotFound) {
			continue
		} else if err != nil {
			errs = append(errs, fmt.Errorf("look up %s/%s: %w", c.Pool, c.Volume, err))
			continue
		}
		if v.Labels[LabelOp] != in.Op {
			continue // not made by this request
		}
		if err := s.deleteUnpaired(ctx, v.ID); err != nil && !errVolumeGone(err) {
			errs = append(errs, fmt.Errorf("remove target %s of an unrecorded request: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// endIntent journals what ending syncs leaves to do outside the store:
// remove each target's hidden files and, with EndReturnToPool, delete the
// targets. targets are the target volumes as read before the transaction
// (a target missing from it has no files to name). The caller writes it in
// the transaction that deletes the synchronizations.
func (s *Service) endIntent(syncs []*Synchronization, targets map[volumes.ID]*volumes.Volume, how Ending) *intentRecord {
	in := &intentRecord{Version: 1, ID: uuid.NewString(), What: how.String(), Created: s.now()}
	for _, x := range syncs {
		if t := targets[x.Target]; t != nil {
			in.Files = append(in.Files, intentFile{Pool: t.Pool, Volume: t.Name, Target: t.ID})
		}
		if how == EndReturnToPool {
			in.Delete = append(in.Delete, x.Target)
		}
	}
	return in
}

// targetsOf reads the target volumes of syncs; a target that no longer
// exists is left out.
func (s *Service) targetsOf(ctx context.Context, syncs []*Synchronization) (map[volumes.ID]*volumes.Volume, error) {
	out := make(map[volumes.ID]*volumes.Volume, len(syncs))
	for _, x := range syncs {
		t, err := s.vols.Get(ctx, x.Target)
		if errVolumeGone(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("target %s: %w", x.Target, err)
		}
		out[t.ID] = t
	}
	return out, nil
}

// finishIntent does what in names and deletes its record. A step that
// fails leaves the record for the next start; a volume that has joined a
// new relationship meanwhile is not deleted (its files are kept too).
func (s *Service) finishIntent(ctx context.Context, in *intentRecord) error {
	var errs []error
	roles, err := s.Roles(ctx)
	if err != nil {
		return fmt.Errorf("finish %s: %w", in.What, err)
	}
	for _, f := range in.Files {
		if roles[f.Target].Targets > 0 {
			continue // paired again: the files are the new relationship's
		}
		if err := s.removeHidden(ctx, f.Pool, f.Volume); err != nil {
			errs = append(errs, err)
		}
	}
	if len(in.Create) > 0 {
		s.mu.Lock()
		err := s.undoCreates(ctx, in)
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, id := range in.Delete {
		s.mu.Lock()
		err := s.deleteUnpaired(ctx, id)
		s.mu.Unlock()
		switch {
		case err == nil, errVolumeGone(err):
		case errors.Is(err, ErrInRelationship):
			s.logger.Warn("a volume returned to its pool was paired again before it was deleted; it stays",
				zap.String("volume", string(id)), zap.String("intent", in.ID))
		default:
			errs = append(errs, fmt.Errorf("return target %s to its pool: %w", id, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Update(func(tx *store.Tx) error { return tx.Delete(bucketIntents, in.ID) }); err != nil {
		return fmt.Errorf("finish %s: %w", in.What, err)
	}
	return nil
}

// removeHidden removes the sidecar and the partial copy of volume name in
// pool, beneath the pool's directory handle (beneath.Remove: no symlink is
// followed; one in their place is not ours and is left, with a warning).
// A pool that is gone has nothing to remove.
func (s *Service) removeHidden(ctx context.Context, pool, name string) error {
	return s.removeHiddenFiles(ctx, pool, name, sidecarSuffix, partialSuffix)
}

// removeHiddenFiles removes the files "."+name+suffix of pool.
func (s *Service) removeHiddenFiles(ctx context.Context, pool, name string, suffixes ...string) error {
	if volumes.CheckName(name) != nil {
		return nil // not a name replica made a file for
	}
	path, err := s.vols.PoolPath(ctx, pool)
	if errors.Is(err, volumes.ErrPoolNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("pool %s: %w", pool, err)
	}
	dir, err := beneath.OpenDir(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("open pool %s: %w", pool, err)
	}
	defer dir.Close()
	var errs []error
	for _, suffix := range suffixes {
		err := beneath.Remove(dir, "."+name+suffix)
		switch {
		case err == nil, errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, beneath.ErrSymlink):
			s.logger.Warn("a symlink where a hidden file of a volume belongs; left alone",
				zap.String("pool", pool), zap.String("file", "."+name+suffix))
		default:
			errs = append(errs, fmt.Errorf("remove %s of %s: %w", suffix, name, err))
		}
	}
	return errors.Join(errs...)
}

// recoverIntents finishes every journaled change a stop interrupted.
func (s *Service) recoverIntents(ctx context.Context) error {
	ins, err := listRecordsView[intentRecord](s.db, bucketIntents)
	if err != nil {
		return err
	}
	var errs []error
	for i := range ins {
		s.logger.Info("finishing an interrupted change", zap.String("what", ins[i].What),
			zap.Int("files", len(ins[i].Files)), zap.Int("volumes", len(ins[i].Delete)))
		if err := s.finishIntent(ctx, &ins[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sweepHidden removes the sidecars and partial copies of every pool that
// belong to no synchronization: left by a crash before this journal
// existed, or by a change whose files could not be removed. A file is kept
// while a synchronization names a volume of its name and pool as target.
func (s *Service) sweepHidden(ctx context.Context) error {
	pools, err := s.vols.Pools(ctx)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	syncs, err := listRecordsView[Synchronization](s.db, bucketSyncs) // targets only: no size check
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	keep := map[string]bool{} // pool/name of every target
	for _, x := range syncs {
		if t, err := s.vols.Get(ctx, x.Target); err == nil {
			keep[t.Pool+"/"+t.Name] = true
		}
	}
	var errs []error
	for _, p := range pools {
		ents, err := os.ReadDir(p.Path())
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep pool %s: %w", p.Name, err))
			continue
		}
		for _, e := range ents {
			name, ok := hiddenOf(e.Name())
			if !ok || !e.Type().IsRegular() || keep[p.Name+"/"+name] {
				continue
			}
			if err := s.removeHidden(ctx, p.Name, name); err != nil {
				errs = append(errs, err)
				continue
			}
			s.logger.Info("removed a file of no relationship", zap.String("pool", p.Name), zap.String("file", e.Name()))
		}
	}
	return errors.Join(errs...)
}

// hiddenOf returns the volume name of a sidecar or partial file name.
func hiddenOf(file string) (string, bool) {
	rest, ok := strings.CutPrefix(file, ".")
	if !ok {
		return "", false
	}
	for _, suffix := range []string{sidecarSuffix, partialSuffix} {
		if name, ok := strings.CutSuffix(rest, suffix); ok && name != "" {
			return name, true
		}
	}
	return "", false
}
