package provider

import (
	"context"
	"testing"
)

func TestReplicationClassesRegister(t *testing.T) {
	e := newReplEnv(t)
	ctx := context.Background()
	for _, name := range []string{replicationServiceClassName, concreteJobClassName, replicationGroupClassName,
		storageSynchronizedClassName, groupSynchronizedClassName, replicationCapabilitiesClass, elementCapabilitiesClassName,
		affectedJobElementClassName, owningJobElementClassName, orderedMemberClassName, hostedCollectionClassName, serviceAffectsElementClass} {
		c, ok := e.reg.Class(Namespace, name)
		if !ok {
			t.Errorf("class %s not registered", name)
			continue
		}
		insts, err := e.reg.Enumerate(ctx, Namespace, name)
		if err != nil {
			t.Errorf("enumerate %s: %v", name, err)
		}
		for _, inst := range insts {
			if err := inst.Check(); err != nil {
				t.Errorf("%s instance: %v", c.Name, err)
			}
		}
	}
}
