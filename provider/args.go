package provider

import "github.com/replicad/replicad/cimmodel"

// The method arguments of every class, read after the method router checked
// them against the method's declaration (types, value maps, required
// parameters): an argument that is missing or NULL is absent (false).

// argString returns a string argument.
func argString(in cimmodel.Args, name string) (string, bool) {
	v, ok := in.Get(name)
	if !ok || v.IsNull() {
		return "", false
	}
	return v.AsString()
}

// argUint64 returns an unsigned integer argument.
func argUint64(in cimmodel.Args, name string) (uint64, bool) {
	v, ok := in.Get(name)
	if !ok || v.IsNull() {
		return 0, false
	}
	return v.AsUint64()
}

// argUint16 returns a uint16 argument (a ValueMap'd enumeration).
func argUint16(in cimmodel.Args, name string) (uint16, bool) {
	n, ok := argUint64(in, name)
	return uint16(n), ok
}

// argBool returns a boolean argument.
func argBool(in cimmodel.Args, name string) (value, present bool) {
	v, ok := in.Get(name)
	if !ok || v.IsNull() {
		return false, false
	}
	return v.AsBool()
}

// argRef returns a reference argument.
func argRef(in cimmodel.Args, name string) (cimmodel.ObjectPath, bool) {
	v, ok := in.Get(name)
	if !ok || v.IsNull() {
		return cimmodel.ObjectPath{}, false
	}
	return v.AsRef()
}

// argRefs returns a reference array argument (nil when absent).
func argRefs(in cimmodel.Args, name string) []cimmodel.ObjectPath {
	v, ok := in.Get(name)
	if !ok || v.IsNull() {
		return nil
	}
	refs, _ := v.AsRefs()
	return refs
}
