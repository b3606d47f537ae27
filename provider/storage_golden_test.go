package provider

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap/soaptest"
	"github.com/replicad/replicad/volumes"
)

// The -update flag rewrites the goldens under testdata/storage. Another
// test file of the package may declare the same flag first; then it is
// shared rather than declared twice.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
	return true
}()

// storageUpdate reports whether -update was given.
func storageUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestStorageGoldens encodes one instance of every storage class with
// cimmodel.EncodeInstance and compares it with testdata/storage/<class>.xml,
// volatile values (paths, times, filesystem sizes) blanked.
func TestStorageGoldens(t *testing.T) {
	e := newStorageEnv(t)
	ctx := context.Background()
	v := e.createVolume(volumes.DefaultPool, "v1", 3*mib)
	tests := []struct {
		class    string
		path     cimmodel.ObjectPath // "" Class: the first enumerated instance
		volatile []string
	}{
		{storageVolumeClassName, e.p.volumePath(v.ID), []string{"Datetime", "MSDevicePath"}},
		{storagePoolClassName, e.p.poolPath(volumes.DefaultPool), []string{"TotalManagedSpace", "RemainingManagedSpace", "Capacity"}},
		{storageConfigurationServiceClassName, e.p.servicePath(storageConfigurationServiceClassName), nil},
		{"MSISCSITARGET_HostedService", cimmodel.ObjectPath{}, nil},
		{"MSISCSITARGET_HostedStoragePool", cimmodel.ObjectPath{}, nil},
		{"MSISCSITARGET_AllocatedFromStoragePool", cimmodel.ObjectPath{}, []string{"SpaceConsumed"}},
		{"MSISCSITARGET_SystemDevice", cimmodel.ObjectPath{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			var inst *cimmodel.Instance
			var err error
			if tt.path.Class != "" {
				inst, err = e.reg.Get(ctx, tt.path)
			} else {
				var insts []*cimmodel.Instance
				insts, err = e.reg.Enumerate(ctx, Namespace, tt.class)
				if err == nil && len(insts) > 0 {
					inst = insts[0]
				}
			}
			if err != nil || inst == nil {
				t.Fatalf("instance of %s: %v, %v", tt.class, inst, err)
			}
			if err := inst.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
			doc := etree.NewDocument()
			doc.SetRoot(cimmodel.EncodeInstance(nil, inst))
			xml, err := doc.WriteToString()
			if err != nil {
				t.Fatal(err)
			}
			// The volume ID is random: it reads VOLUME-ID in the goldens.
			xml = strings.ReplaceAll(xml, string(v.ID), "VOLUME-ID")
			checkStorageGolden(t, tt.class+".xml", xml, tt.volatile...)
		})
	}
}

func checkStorageGolden(t *testing.T, name, got string, volatile ...string) {
	t.Helper()
	path := filepath.Join("testdata", "storage", name)
	gotC, err := soaptest.Canonical([]byte(got), volatile...)
	if err != nil {
		t.Fatalf("canonical: %v\n%s", err, got)
	}
	if storageUpdate() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(gotC), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if d := soaptest.Diff(gotC, string(want)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}
