package replica_test

import (
	"context"
	"errors"
	"testing"

	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/volumes"
)

func TestGroups(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	a := e.volume("a", MiB)
	b := e.volume("b", MiB)
	g, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "g", Members: []volumes.ID{a.ID}, DeleteOnEmptyElement: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"create with the same name", func() error { _, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "g"}); return err }, replica.ErrGroupExists},
		{"create with unknown member", func() error {
			_, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "h", Members: []volumes.ID{"nope"}})
			return err
		}, replica.ErrInvalidRequest},
		{"create with a member twice", func() error {
			_, err := e.svc.CreateGroup(ctx, replica.GroupSpec{Name: "h", Members: []volumes.ID{a.ID, a.ID}})
			return err
		}, replica.ErrInvalidRequest},
		{"add to unknown group", func() error { _, err := e.svc.AddMembers(ctx, "nope", []volumes.ID{a.ID}); return err }, replica.ErrGroupNotFound},
		{"add unknown volume", func() error { _, err := e.svc.AddMembers(ctx, g.ID, []volumes.ID{"nope"}); return err }, replica.ErrInvalidRequest},
		{"remove from unknown group", func() error { _, _, err := e.svc.RemoveMembers(ctx, "nope", []volumes.ID{a.ID}, nil); return err }, replica.ErrGroupNotFound},
		{"remove a non-member", func() error { _, _, err := e.svc.RemoveMembers(ctx, g.ID, []volumes.ID{b.ID}, nil); return err }, replica.ErrNotMember},
		{"delete unknown group", func() error { return e.svc.DeleteGroup(ctx, "nope", false) }, replica.ErrGroupNotFound},
		{"delete non-empty group", func() error { return e.svc.DeleteGroup(ctx, g.ID, false) }, replica.ErrGroupNotEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			got, err := e.svc.Group(ctx, g.ID)
			if err != nil || len(got.Members) != 1 || got.Members[0] != a.ID {
				t.Errorf("group after a refused call: %+v, %v; want one member %s", got, err, a.ID)
			}
			if all, _ := e.svc.Groups(ctx); len(all) != 1 {
				t.Errorf("got %d groups, want 1", len(all))
			}
		})
	}
	// Adding a member twice is not an error and keeps one copy; order is kept.
	got, err := e.svc.AddMembers(ctx, g.ID, []volumes.ID{b.ID, a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Members) != 2 || got.Members[0] != a.ID || got.Members[1] != b.ID {
		t.Errorf("members %v, want [%s %s]", got.Members, a.ID, b.ID)
	}
	// Emptying a DeleteOnEmptyElement group deletes it, unless overridden.
	keep := false
	if _, deleted, err := e.svc.RemoveMembers(ctx, g.ID, []volumes.ID{a.ID, b.ID}, &keep); err != nil || deleted {
		t.Fatalf("RemoveMembers with the override: deleted %v, %v; want kept", deleted, err)
	}
	if _, err := e.svc.AddMembers(ctx, g.ID, []volumes.ID{a.ID}); err != nil {
		t.Fatal(err)
	}
	if _, deleted, err := e.svc.RemoveMembers(ctx, g.ID, []volumes.ID{a.ID}, nil); err != nil || !deleted {
		t.Fatalf("RemoveMembers of the last member: deleted %v, %v; want deleted", deleted, err)
	}
	if _, err := e.svc.Group(ctx, g.ID); !errors.Is(err, replica.ErrGroupNotFound) {
		t.Errorf("Group after deletion: %v, want ErrGroupNotFound", err)
	}
	// Volumes are never touched by group changes.
	if vs, _ := e.vols.List(ctx, ""); len(vs) != 2 {
		t.Errorf("%d volumes, want 2", len(vs))
	}
}

func TestAvailableTargets(t *testing.T) {
	e := newEnv(t, true, replica.Options{})
	ctx := context.Background()
	src := e.volume("src", 2*MiB)
	same := e.volume("same", 2*MiB)
	e.volume("other", 4*MiB)
	got, err := e.svc.AvailableTargets(ctx, src.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != same.ID {
		t.Errorf("got %d candidates, want exactly %s", len(got), same.Name)
	}
	if _, err := e.svc.AvailableTargets(ctx, src.ID, []string{"nope"}); !errors.Is(err, replica.ErrInvalidRequest) {
		t.Errorf("unknown pool: got %v, want ErrInvalidRequest", err)
	}
}
