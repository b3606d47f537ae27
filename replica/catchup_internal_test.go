package replica

import (
	"fmt"
	"testing"
	"time"

	"github.com/replicad/replicad/replica/engine"
	"github.com/replicad/replicad/volumes"
)

// TestTrackChain: the blocks replicad wrote into a volume are known from
// any stamp of an unbroken chain of its writes, only while the volume is
// still at the last; a write that does not start from the last stamp (the
// volume was written by someone else in between) starts a new chain; a
// failed write forgets it.
func TestTrackChain(t *testing.T) {
	const bs = engine.DefaultResyncBlockSize
	blocks := func(n ...int64) *engine.DirtyMap {
		m := engine.NewDirtyMap(0, bs)
		for _, i := range n {
			m.Set(i)
		}
		return m
	}
	marked := func(m *engine.DirtyMap) string {
		if m == nil {
			return "unknown"
		}
		var out []int64
		for i := m.Next(0); i >= 0; i = m.Next(i + 1) {
			out = append(out, i)
		}
		return fmt.Sprint(out)
	}
	var c catchUps
	v := volumes.ID("v")
	c.wrote(v, "s0", "s1", blocks(1))
	c.wrote(v, "s1", "s2", blocks(2, 3))
	for _, tc := range []struct{ from, now, want string }{
		{"s0", "s2", "[1 2 3]"},
		{"s1", "s2", "[2 3]"},
		{"s2", "s2", "[]"},
		{"s0", "s1", "unknown"}, // s1 is not the last: written since
		{"s9", "s2", "unknown"}, // a stamp off the chain
		{"", "s2", "unknown"},
	} {
		if got := marked(c.changedSince(v, tc.from, tc.now)); got != tc.want {
			t.Errorf("changed since %q, now %q = %s, want %s", tc.from, tc.now, got, tc.want)
		}
	}
	c.wrote(v, "s5", "s6", blocks(7)) // s2 → s5 by someone else
	if got := marked(c.changedSince(v, "s0", "s6")); got != "unknown" {
		t.Errorf("across a write by someone else: %s, want unknown", got)
	}
	if got := marked(c.changedSince(v, "s5", "s6")); got != "[7]" {
		t.Errorf("the new chain: %s, want [7]", got)
	}
	c.wrote(v, "s6", "", nil) // a failed pass
	if got := marked(c.changedSince(v, "s6", "s6")); got != "unknown" {
		t.Errorf("after a failed pass: %s, want unknown", got)
	}
	for i := range maxTrackStamps + 5 {
		c.wrote(v, fmt.Sprint("t", i), fmt.Sprint("t", i+1), blocks(int64(i)))
	}
	last := fmt.Sprint("t", maxTrackStamps+5)
	if got := marked(c.changedSince(v, "t0", last)); got != "unknown" {
		t.Errorf("from a stamp older than the %d kept: %s, want unknown", maxTrackStamps, got)
	}
	oldest := fmt.Sprint("t", 5+1)
	if got := c.changedSince(v, oldest, last); got == nil || got.Count() != maxTrackStamps-1 {
		t.Errorf("from the oldest stamp kept: %s, want %d blocks", marked(got), maxTrackStamps-1)
	}
	for i := range maxTracks + 10 {
		c.wrote(volumes.ID(fmt.Sprint("w", i)), "a", "b", blocks(1))
	}
	if len(c.tracks) > maxTracks {
		t.Errorf("%d volumes tracked, want at most %d", len(c.tracks), maxTracks)
	}
	if got := marked(c.changedSince(volumes.ID(fmt.Sprint("w", maxTracks+9)), "a", "b")); got != "[1]" {
		t.Errorf("the latest volume tracked: %s, want [1]", got)
	}
}

// TestStampSettled: a stamp proves a later write would change it only when
// it was seen a granule after the image's last change.
func TestStampSettled(t *testing.T) {
	ctime := time.Unix(1700000000, 123456789)
	id := engine.Identity{Dev: 1, Ino: 2, Size: 3, MtimeNS: ctime.UnixNano(), CtimeNS: ctime.UnixNano()}
	g := engine.StampGranularity(id)
	if stampSettled(id.String(), ctime.Add(g/2)) {
		t.Error("a stamp seen within the granularity of its ctime is settled")
	}
	if !stampSettled(id.String(), ctime.Add(2*g)) {
		t.Error("a stamp seen well after its ctime is not settled")
	}
	if stampSettled("", ctime.Add(time.Hour)) || stampSettled("1:2:x", ctime.Add(time.Hour)) {
		t.Error("a missing or malformed stamp is settled")
	}
}
