package cimxml

import (
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

func itoa(n int) string { return strconv.Itoa(n) }

// param returns the IPARAMVALUE named name, nil when absent.
func (c *call) param(name string) *etree.Element {
	return c.req.Params[strings.ToLower(name)]
}

// checkParams refuses IPARAMVALUEs the operation does not define
// (CIM_ERR_INVALID_PARAMETER, DSP0200 §5.3.2).
func (c *call) checkParams(known ...string) error {
	for name, e := range c.req.Params {
		ok := false
		for _, k := range known {
			ok = ok || strings.EqualFold(k, name)
		}
		if !ok {
			return cimErr(cimmodel.StatusInvalidParameter, "%s has no parameter %s", c.req.Method, e.SelectAttrValue("NAME", name))
		}
	}
	return nil
}

// className reads a CLASSNAME parameter; required says whether it may be
// absent ("" then).
func (c *call) className(name string, required bool) (string, error) {
	p := c.param(name)
	if p == nil || len(p.ChildElements()) == 0 {
		if required {
			return "", cimErr(cimmodel.StatusInvalidParameter, "%s needs the parameter %s", c.req.Method, name)
		}
		return "", nil
	}
	cn := p.SelectElement("CLASSNAME")
	if cn == nil || !validName(cn.SelectAttrValue("NAME", "")) {
		return "", cimErr(cimmodel.StatusInvalidParameter, "parameter %s is not a CLASSNAME", name)
	}
	return cn.SelectAttrValue("NAME", ""), nil
}

// boolParam reads a boolean parameter, def when absent.
func (c *call) boolParam(name string, def bool) (bool, error) {
	p := c.param(name)
	if p == nil {
		return def, nil
	}
	v := p.SelectElement("VALUE")
	if v == nil {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v.Text())) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, cimErr(cimmodel.StatusInvalidParameter, "parameter %s: %q is not a boolean", name, v.Text())
}

// stringParam reads a string parameter, "" when absent or NULL.
func (c *call) stringParam(name string) string {
	p := c.param(name)
	if p == nil {
		return ""
	}
	if v := p.SelectElement("VALUE"); v != nil {
		return v.Text()
	}
	return ""
}

// uintParam reads a uint32 parameter; ok is false when absent or NULL.
func (c *call) uintParam(name string) (n uint32, ok bool, err error) {
	s := strings.TrimSpace(c.stringParam(name))
	if s == "" {
		return 0, false, nil
	}
	u, perr := strconv.ParseUint(s, 10, 32)
	if perr != nil {
		return 0, false, cimErr(cimmodel.StatusInvalidParameter, "parameter %s: %q is not a uint32", name, s)
	}
	return uint32(u), true, nil
}

// propertyList reads PropertyList: nil when absent or NULL (every
// property), else the names (possibly none).
func (c *call) propertyList() ([]string, error) {
	p := c.param("PropertyList")
	if p == nil {
		return nil, nil
	}
	va := p.SelectElement("VALUE.ARRAY")
	if va == nil {
		return nil, nil
	}
	out := []string{}
	for _, v := range va.ChildElements() {
		name := strings.TrimSpace(v.Text())
		if v.Tag != "VALUE" || !validName(name) {
			return nil, cimErr(cimmodel.StatusInvalidParameter, "PropertyList holds %q", name)
		}
		out = append(out, name)
	}
	return out, nil
}

// instanceName reads an INSTANCENAME parameter as a path in the request's
// namespace.
func (c *call) instanceName(name string) (cimmodel.ObjectPath, error) {
	p := c.param(name)
	if p == nil {
		return cimmodel.ObjectPath{}, cimErr(cimmodel.StatusInvalidParameter, "%s needs the parameter %s", c.req.Method, name)
	}
	in := p.SelectElement("INSTANCENAME")
	if in == nil {
		return cimmodel.ObjectPath{}, cimErr(cimmodel.StatusInvalidParameter, "parameter %s is not an INSTANCENAME", name)
	}
	path, err := cimmodel.ParseCIMXMLPath(in, c.req.Namespace)
	if err != nil {
		return cimmodel.ObjectPath{}, cimErr(cimmodel.StatusInvalidParameter, "parameter %s: %v", name, err)
	}
	return path, nil
}

// objectName reads an association operation's ObjectName: an INSTANCENAME
// (isClass false) or a CLASSNAME (isClass true).
func (c *call) objectName() (path cimmodel.ObjectPath, isClass bool, err error) {
	p := c.param("ObjectName")
	if p == nil {
		return path, false, cimErr(cimmodel.StatusInvalidParameter, "%s needs the parameter ObjectName", c.req.Method)
	}
	if cn := p.SelectElement("CLASSNAME"); cn != nil {
		name := cn.SelectAttrValue("NAME", "")
		if !validName(name) {
			return path, true, cimErr(cimmodel.StatusInvalidParameter, "ObjectName: bad CLASSNAME")
		}
		return cimmodel.ObjectPath{Namespace: c.req.Namespace, Class: name}, true, nil
	}
	path, err = c.instanceName("ObjectName")
	return path, false, err
}
