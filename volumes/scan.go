package volumes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
)

// ScanReport says what a Rescan changed.
type ScanReport struct {
	// PoolsImported are directories adopted as new pools.
	PoolsImported []string
	// Imported are volumes made from image files found on disk.
	Imported []ID
	// Missing are volumes whose files vanished since the last scan.
	Missing []ID
	// Found are missing volumes whose files came back.
	Found []ID
	// Resized are volumes whose files changed size outside replicad; the
	// record now follows the file.
	Resized []ID
	// Skipped are *.img entries that were not imported, with the reason.
	Skipped []Skipped
}

// Skipped is an image file Rescan left alone.
type Skipped struct {
	// Path is the file's absolute path.
	Path string
	// Reason says why, e.g. "not a regular file".
	Reason string
}

const deletingSuffix = imageExt + ".deleting"

// Rescan brings the store in line with the pool directories: it adopts new
// pool directories, imports dropped image files, marks volumes whose files
// vanished Missing (and clears the mark when they return), follows size
// changes made outside replicad and finishes interrupted deletes (see the
// package doc). Open runs it once. It waits for running creates and deletes
// and blocks new ones while it runs. All store changes are one transaction.
func (s *Service) Rescan(ctx context.Context) (ScanReport, error) {
	rep, err := s.rescan(ctx)
	if err != nil {
		return ScanReport{}, fmt.Errorf("rescan pools: %w", err)
	}
	return rep, nil
}

func (s *Service) rescan(ctx context.Context) (ScanReport, error) {
	var rep ScanReport
	if err := s.checkOpen(ctx); err != nil {
		return rep, err
	}
	s.scan.Lock()
	defer s.scan.Unlock()
	s.held.reset() // look at DATA/pools and every pool directory afresh

	var pools []poolRecord
	var vols []volumeRecord
	if err := s.db.View(func(tx *store.Tx) (err error) {
		if pools, err = allPools(tx); err != nil {
			return err
		}
		vols, err = allVolumes(tx)
		return err
	}); err != nil {
		return rep, err
	}
	now := s.now().UTC()
	known := make(map[string]bool, len(pools))
	for _, p := range pools {
		known[p.Name] = true
	}
	poolsDir, err := s.openPoolsDir()
	if err != nil {
		return rep, err
	}
	entries, err := poolsDir.ReadDir()
	poolsDir.Close()
	if err != nil {
		return rep, fmt.Errorf("volumes: read %s: %w", s.poolsDir, err)
	}
	var newPools []poolRecord
	for _, e := range entries {
		if e.IsDir() && !known[e.Name()] && CheckName(e.Name()) == nil {
			newPools = append(newPools, poolRecord{V: recordVersion, Name: e.Name(), Created: now})
			known[e.Name()] = true
		}
	}
	byName := make(map[string]*volumeRecord, len(vols))
	for i := range vols {
		byName[nameKey(vols[i].Pool, vols[i].Name)] = &vols[i]
	}

	var imports []volumeRecord
	changed := map[ID]bool{}
	gone := map[string]bool{} // pools whose directory is missing or a symlink
	for _, p := range append(pools, newPools...) {
		if err := ctx.Err(); err != nil {
			return ScanReport{}, err
		}
		root, err := s.openPool(p.Name)
		switch {
		case errors.Is(err, ErrSymlink):
			s.log.Warn("pool directory is a symlink; its volumes are missing", zap.String("pool", p.Name), zapErr(err))
			gone[p.Name] = true
			continue
		case errors.Is(err, fs.ErrNotExist):
			gone[p.Name] = true
			continue // its volumes are marked missing below
		case err != nil:
			return ScanReport{}, err
		}
		imp, skipped, err := s.scanPool(root, p.Name, byName, now)
		if err != nil {
			root.Close()
			return ScanReport{}, err
		}
		imports = append(imports, imp...)
		rep.Skipped = append(rep.Skipped, skipped...)
		for i := range vols {
			r := &vols[i]
			if r.Pool != p.Name {
				continue
			}
			fi, err := root.Lstat(fileName(r.Name))
			missing := err != nil || !fi.Mode().IsRegular()
			if missing != r.Missing {
				r.Missing = missing
				changed[r.ID] = true
				if missing {
					rep.Missing = append(rep.Missing, r.ID)
				} else {
					rep.Found = append(rep.Found, r.ID)
				}
			}
			if !missing {
				if sz := uint64(fi.Size()); sz != r.SizeBytes && sz > 0 && sz%BlockSize == 0 {
					r.SizeBytes = sz
					changed[r.ID] = true
					rep.Resized = append(rep.Resized, r.ID)
				}
			}
		}
		root.Close()
	}
	// Volumes of pools whose directory is gone.
	for i := range vols {
		r := &vols[i]
		if r.Missing {
			continue
		}
		if gone[r.Pool] {
			r.Missing = true
			changed[r.ID] = true
			rep.Missing = append(rep.Missing, r.ID)
		}
	}

	if len(newPools) == 0 && len(imports) == 0 && len(changed) == 0 {
		return rep, s.retally()
	}
	err = s.db.Update(func(tx *store.Tx) error {
		for _, p := range newPools {
			if err := tx.Put(bucketPools, p.Name, p); err != nil {
				return err
			}
		}
		for _, r := range imports {
			if err := putNewVolume(tx, r); err != nil {
				return err
			}
		}
		for _, r := range vols {
			if !changed[r.ID] {
				continue
			}
			// Re-read so that labels set since the scan began are kept.
			cur, err := getVolume(tx, r.ID)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			cur.Missing, cur.SizeBytes = r.Missing, r.SizeBytes
			if err := tx.Put(bucketVolumes, string(r.ID), cur); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ScanReport{}, err
	}
	for _, p := range newPools {
		rep.PoolsImported = append(rep.PoolsImported, p.Name)
		s.log.Info("adopted pool directory", zap.String("pool", p.Name))
	}
	for _, r := range imports {
		rep.Imported = append(rep.Imported, r.ID)
		s.log.Info("imported volume", zap.String("pool", r.Pool), zap.String("name", r.Name),
			zap.String("id", string(r.ID)), zap.Uint64("size", r.SizeBytes))
	}
	for _, id := range rep.Missing {
		s.log.Warn("volume file missing", zap.String("id", string(id)))
	}
	return rep, s.retally()
}

// scanPool finishes interrupted deletes in one pool directory and returns
// the image files to import.
func (s *Service) scanPool(root *dirHandle, pool string, byName map[string]*volumeRecord, now time.Time) ([]volumeRecord, []Skipped, error) {
	entries, err := root.ReadDir()
	if err != nil {
		return nil, nil, fmt.Errorf("volumes: read pool %s: %w", pool, err)
	}
	var imports []volumeRecord
	var skipped []Skipped
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") && strings.HasSuffix(n, deletingSuffix) && e.Type().IsRegular() {
			s.finishDelete(root, pool, n, byName)
			continue
		}
		base, ok := strings.CutSuffix(n, imageExt)
		if !ok || byName[nameKey(pool, base)] != nil || strings.HasPrefix(n, ".") {
			continue
		}
		path := filepath.Join(root.Name(), n)
		if err := CheckName(base); err != nil {
			skipped = append(skipped, Skipped{Path: path, Reason: "invalid volume name"})
			continue
		}
		if !e.Type().IsRegular() {
			skipped = append(skipped, Skipped{Path: path, Reason: "not a regular file"})
			continue
		}
		// Not e.Info(): the entry may have been swapped for a link since.
		fi, err := root.Lstat(n)
		if err != nil {
			skipped = append(skipped, Skipped{Path: path, Reason: err.Error()})
			continue
		}
		size := uint64(fi.Size())
		if size == 0 || size%BlockSize != 0 {
			skipped = append(skipped, Skipped{Path: path, Reason: fmt.Sprintf("size %d is not a non-zero multiple of %d", size, BlockSize)})
			continue
		}
		imports = append(imports, volumeRecord{
			V: recordVersion, ID: newID(), Name: base, Pool: pool, SizeBytes: size,
			Created: now, Imported: true,
		})
	}
	for _, sk := range skipped {
		s.log.Warn("image file not imported", zap.String("path", sk.Path), zap.String("reason", sk.Reason))
	}
	return imports, skipped, nil
}

// finishDelete handles a ".N.img.deleting" file left by a crash: with the
// volume still recorded the delete never happened and the file goes back;
// otherwise the delete was recorded and the file is removed.
func (s *Service) finishDelete(root *dirHandle, pool, n string, byName map[string]*volumeRecord) {
	name := strings.TrimSuffix(strings.TrimPrefix(n, "."), deletingSuffix)
	if CheckName(name) != nil {
		return
	}
	if byName[nameKey(pool, name)] != nil {
		if _, err := root.Lstat(fileName(name)); errors.Is(err, fs.ErrNotExist) {
			if err := root.Rename(n, fileName(name)); err != nil {
				s.log.Error("restore file of interrupted delete", zapPath(root, n), zapErr(err))
			} else {
				s.log.Info("restored file of interrupted delete", zapPath(root, fileName(name)))
			}
		}
		return
	}
	if err := root.Remove(n); err != nil {
		s.log.Error("remove file of interrupted delete", zapPath(root, n), zapErr(err))
	} else {
		s.log.Info("removed file of interrupted delete", zapPath(root, n))
	}
}
