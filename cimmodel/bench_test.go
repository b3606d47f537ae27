package cimmodel_test

import (
	"context"
	"testing"

	"github.com/replicad/replicad/cimmodel"
)

func BenchmarkEncodeInstance(b *testing.B) {
	w := newWorld(b)
	inst := w.fullAllTypes()
	for b.Loop() {
		cimmodel.EncodeInstance(nil, inst)
	}
}

func BenchmarkDecodeInstance(b *testing.B) {
	w := newWorld(b)
	text := writeXML(b, cimmodel.EncodeInstance(nil, w.fullAllTypes()))
	root := readXML(b, text)
	for b.Loop() {
		if _, err := cimmodel.DecodeInstance(w.reg, testNS, root); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInvoke(b *testing.B) {
	w := newWorld(b)
	in := input(b, `<p:SyncType>8</p:SyncType><p:Mode>3</p:Mode><p:SourceElement>`+epr(w.vols.insts[0].Path())+
		`</p:SourceElement><p:TargetPool>`+epr(w.pools.insts[0].Path())+`</p:TargetPool>`)
	target := cimmodel.ObjectPath{Namespace: testNS, Class: "TEST_Service"}
	ctx := context.Background()
	for b.Loop() {
		w.calls = w.calls[:0]
		if _, _, err := w.reg.Invoke(ctx, target, "CreateReplica", in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQuery(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := w.reg.Query(ctx, testNS, "SELECT * FROM CIM_StorageVolume WHERE DeviceID LIKE 'v%' AND BlockSize >= 512"); err != nil {
			b.Fatal(err)
		}
	}
}
