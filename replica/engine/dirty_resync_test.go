package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/replicad/replicad/replica/engine"
)

// TestResyncReadsEachSideOnce: where no hash vouches for the target, Resync
// reads the source's and the target's data extents once each, holes on
// either side unread, and still finds changes made to either side.
func TestResyncReadsEachSideOnce(t *testing.T) {
	const bs = 64 << 10
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeImage(t, src, 32*mib, 3, seg{0, 8 * mib, false}, seg{20 * mib, mib, false})
	if _, err := engine.Copy(context.Background(), src, dst, engine.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	want := mutate(t, src, bs,
		change{bs + 5, 100, "data"},  // block 1
		change{3 * mib, bs, "punch"}, // block 48 becomes a hole
		change{28 * mib, bs, "data"}, // block 448, in a hole of both before
	)
	tgt := mutate(t, dst, bs,
		change{4 * mib, 10, "data"},   // block 64: written on the target only
		change{12 * mib, bs, "data"},  // block 192: a hole in the source
		change{20 * mib, bs, "punch"}, // block 320: punched in the target only
	)
	for i := tgt.Next(0); i >= 0; i = tgt.Next(i + 1) {
		want.Set(i)
	}
	srcData, dstData := dataBytes(t, src), dataBytes(t, dst)
	opts := engine.ResyncOptions{Options: engine.DefaultOptions(), BlockSize: bs}
	opts.ChunkSize = mib
	st, err := engine.Resync(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualFiles(t, src, dst)
	if st.BytesRead != srcData || st.TargetBytesRead != dstData {
		t.Errorf("read %d source and %d target bytes, want their data, %d and %d", st.BytesRead, st.TargetBytesRead, srcData, dstData)
	}
	if got := int64(st.Extents); got != want.Count() {
		t.Errorf("changed %d blocks, want %d (changed on either side)", got, want.Count())
	}
}

// TestResyncReportsChanged: ResyncOptions.Changed receives exactly the
// blocks a pass changed in its target, and that map, as the Dirty map of
// a second mirror of the same source, brings it level without reading
// anything but the changed blocks.
func TestResyncReportsChanged(t *testing.T) {
	const bs = 64 << 10
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	makeImage(t, src, 16*mib, 5, seg{0, 6 * mib, false}, seg{10 * mib, mib, false})
	mirrors := [2]string{filepath.Join(dir, "b"), filepath.Join(dir, "c")}
	var gens [2]uint64
	for i, m := range mirrors {
		if _, err := engine.Copy(context.Background(), src, m, engine.DefaultOptions()); err != nil {
			t.Fatal(err)
		}
		st, err := engine.Resync(context.Background(), src, m, engine.ResyncOptions{Options: engine.DefaultOptions(), HashSidecar: m + ".hashes"})
		if err != nil {
			t.Fatal(err)
		}
		gens[i] = st.SidecarGeneration
	}
	want := mutate(t, src, bs, change{7, 9, "data"}, change{2 * mib, bs, "zeros"}, change{13 * mib, 2 * bs, "data"})
	changed := engine.NewDirtyMap(0, bs)
	st, err := engine.Resync(context.Background(), src, mirrors[0],
		engine.ResyncOptions{Options: engine.DefaultOptions(), HashSidecar: mirrors[0] + ".hashes", SidecarGeneration: gens[0], Changed: changed})
	if err != nil {
		t.Fatal(err)
	}
	mustEqualFiles(t, src, mirrors[0])
	if changed.Count() != want.Count() || int64(st.Extents) != want.Count() {
		t.Fatalf("Changed marks %d blocks, the pass changed %d, want %d", changed.Count(), st.Extents, want.Count())
	}
	for i := want.Next(0); i >= 0; i = want.Next(i + 1) {
		if !changed.Test(i) {
			t.Errorf("block %d changed but is not marked", i)
		}
	}
	st, err = engine.Resync(context.Background(), src, mirrors[1],
		engine.ResyncOptions{Options: engine.DefaultOptions(), HashSidecar: mirrors[1] + ".hashes", SidecarGeneration: gens[1], Dirty: changed})
	if err != nil {
		t.Fatal(err)
	}
	mustEqualFiles(t, src, mirrors[1])
	if !st.SidecarTrusted || st.TargetBytesRead != 0 || st.BytesRead > want.Count()*bs {
		t.Errorf("second mirror: sidecar trusted %v, read %d target and %d source bytes; want true, 0, at most %d",
			st.SidecarTrusted, st.TargetBytesRead, st.BytesRead, want.Count()*bs)
	}
}

// TestDirtyMapMergeClone: Merge marks every byte range of the other map in
// the map's own block size, growing it; a Clone is independent.
func TestDirtyMapMergeClone(t *testing.T) {
	m := engine.NewDirtyMap(1*mib, 64<<10)
	m.Set(1)
	c := m.Clone()
	same := engine.NewDirtyMap(0, 64<<10)
	same.Set(3)
	same.Set(40) // past m's end
	m.Merge(same)
	fine := engine.NewDirtyMap(1*mib, 4096)
	fine.Set(16*5 + 3) // inside block 5 of m
	m.Merge(fine)
	coarse := engine.NewDirtyMap(4*mib, 256<<10)
	coarse.Set(2) // blocks 8..11 of m
	m.Merge(coarse)
	var got []int64
	for i := m.Next(0); i >= 0; i = m.Next(i + 1) {
		got = append(got, i)
	}
	if want := []int64{1, 3, 5, 8, 9, 10, 11, 40}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged map marks %v, want %v", got, want)
	}
	if c.Count() != 1 || !c.Test(1) {
		t.Errorf("the clone marks %d blocks, want only block 1", c.Count())
	}
}
