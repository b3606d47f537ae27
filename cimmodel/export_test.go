package cimmodel

import "github.com/beevik/etree"

// LikeMatch exposes the WQL LIKE matcher to the external tests.
var LikeMatch = likeMatch

// The etree encoders the direct encoder replaced (etreeref_test.go), for
// the differential tests.
var (
	RefEncodeInstanceAs = refEncodeInstanceAs
	RefEncodeOutput     = refEncodeOutput
)

// RefWriteEPRAs is the etree endpoint-reference writer the direct encoder
// replaced.
func RefWriteEPRAs(p ObjectPath, parent *etree.Element, address string, form EPRForm) {
	refWriteEPRAs(p, parent, address, form)
}

// Family is the registry's family of c (Registry.family).
func (r *Registry) Family(c *Class) []*Class { return r.family(c) }

// Subclasses are c's direct subclasses in registration order.
func (c *Class) Subclasses() []*Class { return c.subs }
