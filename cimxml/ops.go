package cimxml

import (
	"errors"
	"strings"

	"github.com/beevik/etree"
	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/users"
)

// readOnly are the intrinsic operations a reader may run.
var readOnly = map[string]bool{
	"getinstance": true, "enumerateinstances": true, "enumerateinstancenames": true,
	"getclass": true, "enumerateclasses": true, "enumerateclassnames": true,
	"associators": true, "associatornames": true, "references": true, "referencenames": true,
	"execquery": true, "openenumerateinstances": true, "openenumerateinstancepaths": true,
	"openassociatorinstances": true, "openassociatorinstancepaths": true,
	"openreferenceinstances": true, "openreferenceinstancepaths": true,
	"pullinstanceswithpath": true, "pullinstancepaths": true, "closeenumeration": true,
	"enumerationcount": true,
}

// serve runs one request and returns the content of its response element
// (the children of the returned element), or the error to answer.
func (s *Server) serve(c *call) (*etree.Element, error) {
	if err := s.authorize(c); err != nil {
		return nil, err
	}
	out := etree.NewElement("out")
	if !c.req.Intrinsic {
		return out, s.invokeMethod(c, out)
	}
	op, ok := intrinsics[strings.ToLower(c.req.Method)]
	if !ok {
		return nil, cimErr(cimmodel.StatusNotSupported, "the operation %s is not supported", c.req.Method)
	}
	if !s.registry.HasNamespace(c.req.Namespace) {
		return nil, cimErr(cimmodel.StatusInvalidNamespace, "no namespace %s", c.req.Namespace)
	}
	return out, op(s, c, out)
}

// intrinsics are the intrinsic operations by lower-case name.
var intrinsics = map[string]func(*Server, *call, *etree.Element) error{
	"getinstance":                 (*Server).getInstance,
	"enumerateinstances":          (*Server).enumerateInstances,
	"enumerateinstancenames":      (*Server).enumerateInstanceNames,
	"getclass":                    (*Server).getClass,
	"enumerateclasses":            (*Server).enumerateClasses,
	"enumerateclassnames":         (*Server).enumerateClasses,
	"associators":                 (*Server).associators,
	"associatornames":             (*Server).associators,
	"references":                  (*Server).references,
	"referencenames":              (*Server).references,
	"execquery":                   (*Server).execQuery,
	"modifyinstance":              (*Server).modifyInstance,
	"deleteinstance":              (*Server).deleteInstance,
	"createinstance":              (*Server).createInstance,
	"openenumerateinstances":      (*Server).openEnumerate,
	"openenumerateinstancepaths":  (*Server).openEnumerate,
	"openassociatorinstances":     (*Server).openAssociation,
	"openassociatorinstancepaths": (*Server).openAssociation,
	"openreferenceinstances":      (*Server).openAssociation,
	"openreferenceinstancepaths":  (*Server).openAssociation,
	"pullinstanceswithpath":       (*Server).pull,
	"pullinstancepaths":           (*Server).pull,
	"closeenumeration":            (*Server).closeEnumeration,
}

// authorize refuses what the user's role does not allow: a reader may
// read, nothing else (as wsman's authorize).
func (s *Server) authorize(c *call) error {
	if s.users == nil {
		return nil
	}
	role, err := s.users.Role(c.user)
	if err != nil {
		return cimErr(cimmodel.StatusAccessDenied, "Access is denied.")
	}
	if role == users.RoleAdmin || (c.req.Intrinsic && readOnly[strings.ToLower(c.req.Method)]) {
		return nil
	}
	return cimErr(cimmodel.StatusAccessDenied, "Access is denied: the user %s has the role %s, which may not run %s.", c.user, role, c.req.Method)
}

// ---- answers ----

func (s *Server) host() string {
	if s.Host == "" {
		return "localhost"
	}
	return s.Host
}

// returnValue is the IRETURNVALUE element of out, created on first use.
func returnValue(out *etree.Element) *etree.Element {
	if rv := out.SelectElement("IRETURNVALUE"); rv != nil {
		return rv
	}
	return out.CreateElement("IRETURNVALUE")
}

func namedInstance(parent *etree.Element, inst *cimmodel.Instance, props []string) {
	vn := parent.CreateElement("VALUE.NAMEDINSTANCE")
	cimmodel.WriteCIMXMLInstanceName(vn, inst.Path())
	vn.AddChild(cimmodel.CIMXMLInstanceElement(inst, props))
}

func (s *Server) withPath(parent *etree.Element, tag string, inst *cimmodel.Instance, props []string) {
	vo := parent.CreateElement(tag)
	cimmodel.WriteCIMXMLInstancePath(vo, inst.Path(), s.host())
	vo.AddChild(cimmodel.CIMXMLInstanceElement(inst, props))
}

func (s *Server) objectPath(parent *etree.Element, p cimmodel.ObjectPath) {
	cimmodel.WriteCIMXMLInstancePath(parent.CreateElement("OBJECTPATH"), p, s.host())
}

// ---- instances ----

func (s *Server) getInstance(c *call, out *etree.Element) error {
	if err := c.checkParams("InstanceName", "LocalOnly", "IncludeQualifiers", "IncludeClassOrigin", "PropertyList"); err != nil {
		return err
	}
	path, err := c.instanceName("InstanceName")
	if err != nil {
		return err
	}
	props, err := c.propertyList()
	if err != nil {
		return err
	}
	inst, err := s.registry.Get(c.ctx, path)
	if err != nil {
		return err
	}
	returnValue(out).AddChild(cimmodel.CIMXMLInstanceElement(inst, props))
	return nil
}

// enumerate returns the instances of the ClassName parameter's class and
// its subclasses.
func (s *Server) enumerate(c *call) ([]*cimmodel.Instance, error) {
	class, err := c.className("ClassName", true)
	if err != nil {
		return nil, err
	}
	return s.registry.Enumerate(c.ctx, c.req.Namespace, class)
}

func (s *Server) enumerateInstances(c *call, out *etree.Element) error {
	if err := c.checkParams("ClassName", "LocalOnly", "DeepInheritance", "IncludeQualifiers", "IncludeClassOrigin", "PropertyList"); err != nil {
		return err
	}
	props, err := c.propertyList()
	if err != nil {
		return err
	}
	insts, err := s.enumerate(c)
	if err != nil {
		return err
	}
	rv := returnValue(out)
	for _, inst := range insts {
		namedInstance(rv, inst, props)
	}
	return nil
}

func (s *Server) enumerateInstanceNames(c *call, out *etree.Element) error {
	if err := c.checkParams("ClassName"); err != nil {
		return err
	}
	insts, err := s.enumerate(c)
	if err != nil {
		return err
	}
	rv := returnValue(out)
	for _, inst := range insts {
		cimmodel.WriteCIMXMLInstanceName(rv, inst.Path())
	}
	return nil
}

func (s *Server) modifyInstance(c *call, out *etree.Element) error {
	if err := c.checkParams("ModifiedInstance", "IncludeQualifiers", "PropertyList"); err != nil {
		return err
	}
	p := c.param("ModifiedInstance")
	var named *etree.Element
	if p != nil {
		named = p.SelectElement("VALUE.NAMEDINSTANCE")
	}
	if named == nil || named.SelectElement("INSTANCENAME") == nil || named.SelectElement("INSTANCE") == nil {
		return cimErr(cimmodel.StatusInvalidParameter, "ModifyInstance needs ModifiedInstance, a VALUE.NAMEDINSTANCE")
	}
	path, err := cimmodel.ParseCIMXMLPath(named.SelectElement("INSTANCENAME"), c.req.Namespace)
	if err != nil {
		return cimErr(cimmodel.StatusInvalidParameter, "ModifiedInstance: %v", err)
	}
	changes, err := cimmodel.ParseCIMXMLInstanceElement(s.registry, c.req.Namespace, named.SelectElement("INSTANCE"))
	if err != nil {
		return err
	}
	props, err := c.propertyList()
	if err != nil {
		return err
	}
	if props != nil {
		kept := changes.Copy()
		kept.Values = map[string]cimmodel.Value{}
		for _, name := range props {
			if v, ok := changes.Values[name]; ok {
				kept.Values[name] = v
				continue
			}
			for k, v := range changes.Values {
				if strings.EqualFold(k, name) {
					kept.Values[k] = v
				}
			}
		}
		changes = kept
	}
	if err := s.dropUnchanged(c, path, changes); err != nil {
		return err
	}
	_, err = s.registry.Modify(c.ctx, path, changes)
	return err
}

// dropUnchanged removes from changes the read-only properties whose value
// is the current one as CIM-XML writes it. Clients such as wbemcli send
// back the whole instance they read with one property changed, and a
// datetime read at CIM-XML's microseconds must not count as a change of a
// read-only property the server holds to the nanosecond.
func (s *Server) dropUnchanged(c *call, path cimmodel.ObjectPath, changes *cimmodel.Instance) error {
	cur, err := s.registry.Get(c.ctx, path)
	if err != nil {
		return err
	}
	for _, p := range s.registry.Properties(changes.Class) {
		v, ok := changes.Values[p.Name]
		if !ok || p.Write {
			continue
		}
		if wireText(cur.Get(p.Name)) == wireText(v) {
			delete(changes.Values, p.Name)
		}
	}
	return nil
}

// wireText is v as CIM-XML writes it ("" for NULL).
func wireText(v cimmodel.Value) string {
	e := etree.NewElement("v")
	cimmodel.WriteCIMXMLValue(e, v)
	doc := etree.NewDocument()
	doc.SetRoot(e)
	s, _ := doc.WriteToString()
	return s
}

func (s *Server) deleteInstance(c *call, out *etree.Element) error {
	if err := c.checkParams("InstanceName"); err != nil {
		return err
	}
	path, err := c.instanceName("InstanceName")
	if err != nil {
		return err
	}
	return s.registry.Delete(c.ctx, path)
}

func (s *Server) createInstance(c *call, out *etree.Element) error {
	if err := c.checkParams("NewInstance"); err != nil {
		return err
	}
	p := c.param("NewInstance")
	if p == nil || p.SelectElement("INSTANCE") == nil {
		return cimErr(cimmodel.StatusInvalidParameter, "CreateInstance needs NewInstance, an INSTANCE")
	}
	inst, err := cimmodel.ParseCIMXMLInstanceElement(s.registry, c.req.Namespace, p.SelectElement("INSTANCE"))
	if err != nil {
		return err
	}
	path, err := s.registry.Create(c.ctx, inst)
	if err != nil {
		return err
	}
	cimmodel.WriteCIMXMLInstanceName(returnValue(out), path)
	return nil
}

// ---- classes ----

func (s *Server) classOptions(c *call, localOnlyDefault bool) (cimmodel.ClassXMLOptions, error) {
	localOnly, err := c.boolParam("LocalOnly", localOnlyDefault)
	if err != nil {
		return cimmodel.ClassXMLOptions{}, err
	}
	quals, err := c.boolParam("IncludeQualifiers", true)
	if err != nil {
		return cimmodel.ClassXMLOptions{}, err
	}
	origin, err := c.boolParam("IncludeClassOrigin", false)
	if err != nil {
		return cimmodel.ClassXMLOptions{}, err
	}
	return cimmodel.ClassXMLOptions{Qualifiers: quals, Inherited: !localOnly, ClassOrigin: origin}, nil
}

func (s *Server) getClass(c *call, out *etree.Element) error {
	if err := c.checkParams("ClassName", "LocalOnly", "IncludeQualifiers", "IncludeClassOrigin", "PropertyList"); err != nil {
		return err
	}
	name, err := c.className("ClassName", true)
	if err != nil {
		return err
	}
	opts, err := s.classOptions(c, true)
	if err != nil {
		return err
	}
	class, ok := s.registry.Class(c.req.Namespace, name)
	if !ok {
		return cimErr(cimmodel.StatusNotFound, "no class %s in %s", name, c.req.Namespace)
	}
	cimmodel.EncodeCIMXMLClass(returnValue(out), class, opts)
	return nil
}

// enumerateClasses answers EnumerateClasses (CLASS elements) and
// EnumerateClassNames (CLASSNAME elements): the subclasses of ClassName
// (the root classes without it), all descendants with DeepInheritance.
func (s *Server) enumerateClasses(c *call, out *etree.Element) error {
	if err := c.checkParams("ClassName", "DeepInheritance", "LocalOnly", "IncludeQualifiers", "IncludeClassOrigin"); err != nil {
		return err
	}
	names := strings.EqualFold(c.req.Method, "EnumerateClassNames")
	base, err := c.className("ClassName", false)
	if err != nil {
		return err
	}
	deep, err := c.boolParam("DeepInheritance", false)
	if err != nil {
		return err
	}
	opts, err := s.classOptions(c, true)
	if err != nil {
		return err
	}
	if base != "" {
		if _, ok := s.registry.Class(c.req.Namespace, base); !ok {
			return cimErr(cimmodel.StatusInvalidClass, "no class %s in %s", base, c.req.Namespace)
		}
	}
	rv := returnValue(out)
	for _, class := range s.registry.Classes(c.req.Namespace) {
		if !classSelected(s.registry, class, base, deep) {
			continue
		}
		if names {
			rv.CreateElement("CLASSNAME").CreateAttr("NAME", class.Name)
			continue
		}
		cimmodel.EncodeCIMXMLClass(rv, class, opts)
	}
	return nil
}

// classSelected reports whether class is a subclass of base (direct, or
// any descendant when deep); with no base, whether it is a root class (or
// any class when deep).
func classSelected(reg *cimmodel.Registry, class *cimmodel.Class, base string, deep bool) bool {
	if base == "" {
		return deep || class.Superclass == ""
	}
	if strings.EqualFold(class.Name, base) {
		return false
	}
	if deep {
		return reg.IsA(class, base)
	}
	return strings.EqualFold(class.Superclass, base)
}

// ---- associations ----

// assocFilter reads the parameters of Associators, AssociatorNames,
// References and ReferenceNames (and their Open forms).
func (c *call) assocFilter(instances bool) (cimmodel.AssociationFilter, bool, error) {
	obj, isClass, err := c.objectName()
	if err != nil {
		return cimmodel.AssociationFilter{}, false, err
	}
	f := cimmodel.AssociationFilter{Object: obj, Instances: instances}
	fields := []struct {
		name string
		to   *string
	}{{"AssocClass", &f.AssociationClassName}, {"ResultClass", &f.ResultClassName}}
	for _, fl := range fields {
		if *fl.to, err = c.className(fl.name, false); err != nil {
			return f, false, err
		}
	}
	f.Role = strings.TrimSpace(c.stringParam("Role"))
	f.ResultRole = strings.TrimSpace(c.stringParam("ResultRole"))
	if f.Role != "" && !validName(f.Role) || f.ResultRole != "" && !validName(f.ResultRole) {
		return f, false, cimErr(cimmodel.StatusInvalidParameter, "Role or ResultRole is not a property name")
	}
	return f, isClass, nil
}

// associated runs an association filter; an object that is a class has
// no instance associations (empty).
func (s *Server) associated(c *call, instances bool) ([]*cimmodel.Instance, error) {
	f, isClass, err := c.assocFilter(instances)
	if err != nil || isClass {
		return nil, err
	}
	if instances {
		return s.registry.References(c.ctx, f)
	}
	return s.registry.Associators(c.ctx, f)
}

func (s *Server) associators(c *call, out *etree.Element) error {
	return s.associationAnswer(c, out, false, "AssocClass", "ResultClass", "Role", "ResultRole")
}

func (s *Server) references(c *call, out *etree.Element) error {
	return s.associationAnswer(c, out, true, "ResultClass", "Role")
}

func (s *Server) associationAnswer(c *call, out *etree.Element, refs bool, filters ...string) error {
	known := append([]string{"ObjectName", "IncludeQualifiers", "IncludeClassOrigin", "PropertyList"}, filters...)
	if err := c.checkParams(known...); err != nil {
		return err
	}
	props, err := c.propertyList()
	if err != nil {
		return err
	}
	insts, err := s.associated(c, refs)
	if err != nil {
		return err
	}
	names := strings.HasSuffix(strings.ToLower(c.req.Method), "names")
	rv := returnValue(out)
	for _, inst := range insts {
		if names {
			s.objectPath(rv, inst.Path())
		} else {
			s.withPath(rv, "VALUE.OBJECTWITHPATH", inst, props)
		}
	}
	return nil
}

// ---- queries ----

// queryLanguage checks a query language: WQL, or DMTF:CQL (and CQL),
// whose SELECT … FROM … WHERE subset our WQL parser reads the same.
func queryLanguage(lang string) error {
	switch strings.ToUpper(strings.TrimSpace(lang)) {
	case "WQL", "DMTF:CQL", "CQL":
		return nil
	}
	return cimErr(statusQueryLanguageNotSupported, "the query language %q is not supported (WQL, DMTF:CQL)", lang)
}

func (s *Server) execQuery(c *call, out *etree.Element) error {
	if err := c.checkParams("QueryLanguage", "Query"); err != nil {
		return err
	}
	if err := queryLanguage(c.stringParam("QueryLanguage")); err != nil {
		return err
	}
	insts, err := s.registry.Query(c.ctx, c.req.Namespace, c.stringParam("Query"))
	if err != nil {
		return err
	}
	rv := returnValue(out)
	for _, inst := range insts {
		s.withPath(rv, "VALUE.OBJECTWITHPATH", inst, nil)
	}
	return nil
}

// ---- methods ----

// invokeMethod answers a METHODCALL: the method router checks every
// parameter against the declaration, then the method runs. A parameter
// that breaks the method's rules is answered with its ReturnValue (5) and
// the reason in ExtendedStatus, as over WS-Man, not with an ERROR.
func (s *Server) invokeMethod(c *call, out *etree.Element) error {
	if !s.registry.HasNamespace(c.req.Namespace) {
		return cimErr(cimmodel.StatusInvalidNamespace, "no namespace %s", c.req.Namespace)
	}
	res, m, err := s.registry.InvokeCIMXML(c.ctx, c.req.Target, c.req.Method, c.req.ParamValues)
	var invalid *cimmodel.InvalidParameterError
	if errors.As(err, &invalid) && m != nil {
		s.Logger.Info("cimxml invoke: invalid parameter", zap.String("method", c.req.Method),
			zap.String("path", c.req.Target.String()), zap.Error(err))
		err = nil
	}
	if err != nil {
		return err
	}
	cimmodel.EncodeCIMXMLOutput(out, m, res)
	return nil
}
