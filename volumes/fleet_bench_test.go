package volumes_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// BenchmarkFleet measures one Create, Get, Lookup and Pool (the lookup a
// replica request makes per target) with 100 and with 10,000 volumes in
// the pool: each should cost about the same at both counts. The fleet is
// adopted by one Rescan of sparse files, in the data folder of b.TempDir.
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("volumes=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			pool := filepath.Join(dir, "pools", volumes.DefaultPool)
			if err := os.MkdirAll(pool, 0o755); err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := os.WriteFile(filepath.Join(pool, fmt.Sprintf("v%05d.img", i)), nil, 0o600); err != nil {
					b.Fatal(err)
				}
				if err := os.Truncate(filepath.Join(pool, fmt.Sprintf("v%05d.img", i)), MiB); err != nil {
					b.Fatal(err)
				}
			}
			db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			svc, err := volumes.Open(db, dir, volumes.Options{Logger: zap.NewNop()})
			if err != nil {
				b.Fatal(err)
			}
			defer svc.Close()
			ctx := context.Background()
			if _, err := svc.Rescan(ctx); err != nil {
				b.Fatal(err)
			}
			v, err := svc.Lookup(ctx, volumes.DefaultPool, "v00042")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("Get", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Get(ctx, v.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Lookup", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Lookup(ctx, volumes.DefaultPool, "v00042"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Pool", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Pool(ctx, volumes.DefaultPool); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Create", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := svc.Create(ctx, volumes.DefaultPool, fmt.Sprintf("new%d", i), MiB); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
