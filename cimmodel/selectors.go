package cimmodel

import (
	"fmt"

	"github.com/replicad/replicad/soap"
)

// PathFromSelectors builds the object path of class in namespace from a
// request's selectors: text selectors become string keys (the registry
// converts them to the declared key types), EPR-valued selectors become
// references. The caller handles __cimnamespace; a repeated selector name is
// an error wrapping ErrInvalidEPR.
func PathFromSelectors(namespace, class string, sels []soap.Selector) (ObjectPath, error) {
	p := ObjectPath{Namespace: namespace, Class: class}
	if len(sels) > 0 {
		p.Keys = make([]KeyBinding, 0, len(sels))
	}
	for _, s := range sels {
		if s.Name == "" {
			return ObjectPath{}, fmt.Errorf("%w: selector without a Name", ErrInvalidEPR)
		}
		if _, dup := p.Key(s.Name); dup {
			return ObjectPath{}, fmt.Errorf("%w: selector %q repeated", ErrInvalidEPR, s.Name)
		}
		if s.EPR != nil {
			r, err := ParseEPR(s.EPR)
			if err != nil {
				return ObjectPath{}, fmt.Errorf("selector %q: %w", s.Name, err)
			}
			p.Keys = append(p.Keys, KeyBinding{Name: s.Name, Value: Ref(r)})
			continue
		}
		p.Keys = append(p.Keys, KeyBinding{Name: s.Name, Value: String(s.Value)})
	}
	return p, nil
}
