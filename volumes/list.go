package volumes

import (
	"context"
	"fmt"
	"slices"

	"github.com/replicad/replicad/store"
)

// ListAfter returns at most limit volumes of every pool whose ID is greater
// than after (byte order of the ID strings; "" starts at the first), in ID
// order, and whether more volumes follow the last one returned. It is one
// read transaction that decodes only the records it returns (and only those changed since they were last decoded, records.go) and stats only
// their image files (one fstatat each through the held pool directory), so paging through N
// volumes costs N, not N²/limit. A volume deleted between two pages is
// simply not met; one created meanwhile is met when its ID sorts after
// the cursor. Errors: ErrInvalidSize (limit < 1), ErrClosed.
func (s *Service) ListAfter(ctx context.Context, after ID, limit int) (vols []*Volume, more bool, err error) {
	return s.listAfter(ctx, after, limit, true)
}

// ListAfterWithoutAllocation is ListAfter, but each Volume's AllocatedBytes
// is 0: it is not read, which lets the lookup use what is kept of the image
// files' states (imageStates) instead of an fstatat per volume. Missing is
// as exact as ListAfter's.
func (s *Service) ListAfterWithoutAllocation(ctx context.Context, after ID, limit int) (vols []*Volume, more bool, err error) {
	return s.listAfter(ctx, after, limit, false)
}

func (s *Service) listAfter(ctx context.Context, after ID, limit int, allocation bool) (vols []*Volume, more bool, err error) {
	wrap := func(err error) error { return fmt.Errorf("list volumes after %q: %w", after, err) }
	if err := s.checkOpen(ctx); err != nil {
		return nil, false, wrap(err)
	}
	if limit < 1 {
		return nil, false, wrap(fmt.Errorf("%w: limit %d", ErrInvalidSize, limit))
	}
	gen, key := s.db.Generation(), pageKey{after: after, limit: limit}
	if p, ok := s.reads.page(gen, key); ok {
		return s.volumesInOrder(p.recs, allocation), p.more, nil
	}
	recs := make([]volumeRecord, 0, min(limit, 1024))
	if err := s.db.View(func(tx *store.Tx) error {
		return tx.ForEachAfter(bucketVolumes, string(after), func(key string, raw []byte) error {
			if len(recs) == limit {
				more = true
				return store.ErrStop
			}
			r, err := s.records.decode(ID(key), raw)
			if err != nil {
				return err
			}
			recs = append(recs, r)
			return nil
		})
	}); err != nil {
		return nil, false, wrap(err)
	}
	s.reads.keepPage(gen, s.db.Generation(), key, keptPage{recs: recs, more: more})
	return s.volumesInOrder(recs, allocation), more, nil
}

// volumesInOrder turns records into Volumes in the records' order, each
// file's state read through its held pool directory (held.go);
// AllocatedBytes only when allocation is true.
func (s *Service) volumesInOrder(recs []volumeRecord, allocation bool) []*Volume {
	var poolsBuf [4]string
	var dirsBuf [4]heldDir
	pools := poolsBuf[:0]
	for _, r := range recs {
		if !slices.Contains(pools, r.Pool) {
			pools = append(pools, r.Pool)
		}
	}
	h := s.held.hold(pools, dirsBuf[:0])
	defer s.held.release(h.exclusive)
	vols := make([]Volume, len(recs)) // one allocation for them all
	out := make([]*Volume, len(recs))
	for i, r := range recs {
		s.fillVolume(&vols[i], r, h.dir(r.Pool), allocation)
		out[i] = &vols[i]
	}
	return out
}
