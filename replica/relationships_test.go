package replica_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// syncsBucket is replica's bucket of synchronization records.
const syncsBucket = "replica.syncs"

// wantRoles fails unless Roles and RoleOf of each of ids say want (a
// volume missing from want is in no relationship).
func wantRoles(t *testing.T, svc *replica.Service, when string, ids []volumes.ID, want map[volumes.ID]replica.Role) {
	t.Helper()
	ctx := context.Background()
	roles, err := svc.Roles(ctx)
	if err != nil {
		t.Fatalf("%s: Roles: %v", when, err)
	}
	for _, id := range ids {
		if roles[id] != want[id] {
			t.Errorf("%s: Roles[%s] = %+v, want %+v", when, id, roles[id], want[id])
		}
		if r, err := svc.RoleOf(ctx, id); err != nil || r != want[id] {
			t.Errorf("%s: RoleOf(%s) = %+v (%v), want %+v", when, id, r, err, want[id])
		}
	}
	if len(roles) != len(want) {
		t.Errorf("%s: Roles has %d volumes (%v), want %d", when, len(roles), roles, len(want))
	}
}

// TestRolesFollowEveryUpdate: Roles and RoleOf, asked again and again, see
// at once every change of the synchronization records, made here by raw
// Updates of the store that no replica code knows of, and an Update of
// another bucket changes nothing.
func TestRolesFollowEveryUpdate(t *testing.T) {
	e := newEnv(t, false, replica.Options{})
	a, b, c := volumes.ID("vol-a"), volumes.ID("vol-b"), volumes.ID("vol-c")
	ids := []volumes.ID{a, b, c}
	put := func(x replica.Synchronization) {
		t.Helper()
		if err := e.db.Update(func(tx *store.Tx) error { return tx.Put(syncsBucket, x.ID, x) }); err != nil {
			t.Fatal(err)
		}
	}
	del := func(id string) {
		t.Helper()
		if err := e.db.Update(func(tx *store.Tx) error { return tx.Delete(syncsBucket, id) }); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		wantRoles(t, e.svc, "no synchronizations", ids, map[volumes.ID]replica.Role{})
	}
	put(replica.Synchronization{ID: "s1", Source: a, Target: b})
	for range 3 {
		wantRoles(t, e.svc, "a to b", ids, map[volumes.ID]replica.Role{a: {Sources: 1}, b: {Targets: 1}})
	}
	put(replica.Synchronization{ID: "s2", Source: a, Target: c})
	wantRoles(t, e.svc, "a to b and c", ids, map[volumes.ID]replica.Role{a: {Sources: 2}, b: {Targets: 1}, c: {Targets: 1}})
	if err := e.db.Update(func(tx *store.Tx) error { return tx.Put("replica.test-other", "k", 1) }); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, e.svc, "another bucket changed", ids, map[volumes.ID]replica.Role{a: {Sources: 2}, b: {Targets: 1}, c: {Targets: 1}})
	put(replica.Synchronization{ID: "s2", Source: b, Target: c})
	wantRoles(t, e.svc, "a to b, b to c", ids, map[volumes.ID]replica.Role{a: {Sources: 1}, b: {Sources: 1, Targets: 1}, c: {Targets: 1}})
	del("s1")
	del("s2")
	wantRoles(t, e.svc, "all ended", ids, map[volumes.ID]replica.Role{})
}

// TestRolesDuringUpdates: readers asking Roles and RoleOf while records
// change never see fewer synchronizations than the last Update that
// returned before their call made (-race checks the kept map's sharing).
func TestRolesDuringUpdates(t *testing.T) {
	e := newEnv(t, false, replica.Options{})
	ctx := context.Background()
	const n = 100
	var (
		mu   sync.Mutex
		done int // synchronizations whose Update returned
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				min := done
				mu.Unlock()
				roles, err := e.svc.Roles(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if got := roles["src"].Sources; got < min {
					t.Errorf("Roles: %d sources, want at least %d", got, min)
					return
				}
				if r, err := e.svc.RoleOf(ctx, "src"); err != nil || r.Sources < min {
					t.Errorf("RoleOf: %+v (%v), want at least %d sources", r, err, min)
					return
				}
			}
		})
	}
	for i := range n {
		x := replica.Synchronization{ID: fmt.Sprintf("s%03d", i), Source: "src", Target: volumes.ID(fmt.Sprintf("t%03d", i))}
		if err := e.db.Update(func(tx *store.Tx) error { return tx.Put(syncsBucket, x.ID, x) }); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		done = i + 1
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	if r, err := e.svc.RoleOf(ctx, "src"); err != nil || r != (replica.Role{Sources: n}) {
		t.Errorf("after: RoleOf = %+v (%v), want %d sources", r, err, n)
	}
}
