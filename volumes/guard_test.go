package volumes_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/replicad/replicad/volumes"
)

// TestInUseGuard: a volume the installed check refuses is not deleted
// (ErrInUse naming the users, file and record kept); others are.
func TestInUseGuard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	kept, err := e.svc.Create(ctx, volumes.DefaultPool, "exposed", MiB)
	if err != nil {
		t.Fatal(err)
	}
	free, err := e.svc.Create(ctx, volumes.DefaultPool, "free", MiB)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.SetInUse(func(pool, name string) error {
		if pool == volumes.DefaultPool && name == "exposed" {
			return fmt.Errorf("iSCSI target(s) backup")
		}
		return nil
	})
	if err := e.svc.CheckInUse(ctx, kept.ID); !errors.Is(err, volumes.ErrInUse) {
		t.Fatalf("CheckInUse of a guarded volume = %v; want ErrInUse", err)
	}
	if err := e.svc.CheckInUse(ctx, free.ID); err != nil {
		t.Fatalf("CheckInUse of an unguarded volume = %v", err)
	}
	err = e.svc.Delete(ctx, kept.ID)
	if !errors.Is(err, volumes.ErrInUse) || !strings.Contains(err.Error(), "iSCSI target(s) backup") {
		t.Fatalf("Delete of a guarded volume = %v; want ErrInUse naming the target", err)
	}
	if _, err := e.svc.Get(ctx, kept.ID); err != nil {
		t.Fatalf("guarded volume gone after refused Delete: %v", err)
	}
	if err := e.svc.Delete(ctx, free.ID); err != nil {
		t.Fatalf("Delete of an unguarded volume: %v", err)
	}
	e.svc.SetInUse(nil)
	if err := e.svc.Delete(ctx, kept.ID); err != nil {
		t.Fatalf("Delete after the guard is removed: %v", err)
	}
}
