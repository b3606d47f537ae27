package cimxml

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/replicad/replicad/cimmodel"
)

// The pull operations of DSP0200 1.3 §5.3.2.2: an Open call answers the
// first MaxObjectCount items and an enumeration context; Pull calls answer
// the next ones until EndOfSequence; CloseEnumeration drops the context.
// A context keeps object paths, not instances (a Pull fetches the
// instances again, so an instance deleted meanwhile is skipped), belongs to
// the user who opened it, and expires after its OperationTimeout idle.

// enumeration is one open enumeration context.
type enumeration struct {
	user      string
	paths     []cimmodel.ObjectPath
	instances bool // answer instances with paths, not paths alone
	props     []string
	expiry    time.Duration
	deadline  time.Time
}

// enumerations holds the open contexts under the Limits' caps.
type enumerations struct {
	limits Limits
	now    func() time.Time
	mu     sync.Mutex
	open   map[string]*enumeration
	byUser map[string]int
}

func newEnumerations(l Limits, now func() time.Time) *enumerations {
	return &enumerations{limits: l, now: now, open: map[string]*enumeration{}, byUser: map[string]int{}}
}

// reap drops expired contexts; e.mu is held.
func (e *enumerations) reap() {
	now := e.now()
	for id, en := range e.open {
		if now.After(en.deadline) {
			e.drop(id, en)
		}
	}
}

func (e *enumerations) drop(id string, en *enumeration) {
	delete(e.open, id)
	if e.byUser[en.user]--; e.byUser[en.user] <= 0 {
		delete(e.byUser, en.user)
	}
}

// add opens a context for en and returns its id, or
// CIM_ERR_SERVER_LIMITS_EXCEEDED when a cap is reached.
func (e *enumerations) add(en *enumeration) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reap()
	if len(e.open) >= e.limits.MaxEnumerations || e.byUser[en.user] >= e.limits.MaxEnumerationsPerUser {
		return "", cimErr(statusServerLimitsExceeded, "too many open enumeration contexts; close some (CloseEnumeration)")
	}
	en.deadline = e.now().Add(en.expiry)
	e.open[id] = en
	e.byUser[en.user]++
	return id, nil
}

// take removes and returns up to n paths of the context id owned by user;
// last reports that none are left (the context is then closed).
func (e *enumerations) take(id, user string, n int) (*enumeration, []cimmodel.ObjectPath, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reap()
	en, ok := e.open[id]
	if !ok || en.user != user {
		return nil, nil, false, cimErr(statusInvalidEnumerationContext, "the enumeration context is not open (closed, expired or another user's)")
	}
	if n > len(en.paths) {
		n = len(en.paths)
	}
	batch := en.paths[:n]
	en.paths = en.paths[n:]
	last := len(en.paths) == 0
	if last {
		e.drop(id, en)
	} else {
		en.deadline = e.now().Add(en.expiry)
	}
	return en, batch, last, nil
}

func (e *enumerations) close(id, user string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.open[id]
	if !ok || en.user != user {
		return cimErr(statusInvalidEnumerationContext, "the enumeration context is not open (closed, expired or another user's)")
	}
	e.drop(id, en)
	return nil
}

// openOptions reads the parameters every Open call shares.
func (s *Server) openOptions(c *call) (count int, expiry time.Duration, props []string, err error) {
	if lang := c.stringParam("FilterQueryLanguage"); lang != "" || c.stringParam("FilterQuery") != "" {
		return 0, 0, nil, cimErr(statusFilteredNotSupported, "filtered enumerations are not supported; use ExecQuery")
	}
	if cont, err := c.boolParam("ContinueOnError", false); err != nil || cont {
		if err != nil {
			return 0, 0, nil, err
		}
		return 0, 0, nil, cimErr(statusContinueOnErrorNotSupp, "ContinueOnError is not supported")
	}
	expiry = s.Limits.EnumerationExpiry
	if t, ok, err := c.uintParam("OperationTimeout"); err != nil {
		return 0, 0, nil, err
	} else if ok {
		if t == 0 {
			return 0, 0, nil, cimErr(statusInvalidOperationTimeout, "OperationTimeout 0 (no timeout) is not supported")
		}
		if d := time.Duration(t) * time.Second; d < expiry {
			expiry = d
		}
	}
	count, err = s.maxObjectCount(c)
	if err != nil {
		return 0, 0, nil, err
	}
	props, err = c.propertyList()
	return count, expiry, props, err
}

// maxObjectCount reads MaxObjectCount (default 0: no items in this answer),
// capped at Limits.MaxObjectCount.
func (s *Server) maxObjectCount(c *call) (int, error) {
	n, _, err := c.uintParam("MaxObjectCount")
	if err != nil {
		return 0, err
	}
	if int64(n) > int64(s.Limits.MaxObjectCount) {
		return s.Limits.MaxObjectCount, nil
	}
	return int(n), nil
}

func (s *Server) openEnumerate(c *call, out *etree.Element) error {
	if err := c.checkParams("ClassName", "DeepInheritance", "IncludeClassOrigin", "PropertyList", "FilterQueryLanguage",
		"FilterQuery", "OperationTimeout", "ContinueOnError", "MaxObjectCount"); err != nil {
		return err
	}
	count, expiry, props, err := s.openOptions(c)
	if err != nil {
		return err
	}
	insts, err := s.enumerate(c)
	if err != nil {
		return err
	}
	return s.open(c, out, insts, count, expiry, props)
}

func (s *Server) openAssociation(c *call, out *etree.Element) error {
	method := strings.ToLower(c.req.Method)
	refs := strings.HasPrefix(method, "openreference")
	known := []string{"InstanceName", "ResultClass", "Role", "IncludeClassOrigin", "PropertyList", "FilterQueryLanguage",
		"FilterQuery", "OperationTimeout", "ContinueOnError", "MaxObjectCount"}
	if !refs {
		known = append(known, "AssocClass", "ResultRole")
	}
	if err := c.checkParams(known...); err != nil {
		return err
	}
	count, expiry, props, err := s.openOptions(c)
	if err != nil {
		return err
	}
	// The Open forms name the object InstanceName, the others ObjectName.
	if p := c.param("InstanceName"); p != nil {
		c.req.Params["objectname"] = p
	}
	insts, err := s.associated(c, refs)
	if err != nil {
		return err
	}
	return s.open(c, out, insts, count, expiry, props)
}

// open answers an Open call: the first count items, then the context.
func (s *Server) open(c *call, out *etree.Element, insts []*cimmodel.Instance, count int, expiry time.Duration, props []string) error {
	en := &enumeration{user: c.user, instances: !strings.HasSuffix(strings.ToLower(c.req.Method), "paths"),
		props: props, expiry: expiry}
	for _, inst := range insts {
		en.paths = append(en.paths, inst.Path())
	}
	rv := returnValue(out)
	if count > len(insts) {
		count = len(insts)
	}
	for _, inst := range insts[:count] {
		s.pullItem(rv, en, inst, inst.Path())
	}
	en.paths = en.paths[count:]
	id := ""
	if len(en.paths) > 0 {
		var err error
		if id, err = s.enums.add(en); err != nil {
			return err
		}
	}
	pullTail(out, id, len(en.paths) == 0)
	return nil
}

// pullItem writes one item of a pull answer.
func (s *Server) pullItem(rv *etree.Element, en *enumeration, inst *cimmodel.Instance, p cimmodel.ObjectPath) {
	if en.instances {
		s.withPath(rv, "VALUE.INSTANCEWITHPATH", inst, en.props)
		return
	}
	cimmodel.WriteCIMXMLInstancePath(rv, p, s.host())
}

// pullTail appends the EnumerationContext and EndOfSequence out-parameters.
func pullTail(out *etree.Element, id string, end bool) {
	ctx := out.CreateElement("PARAMVALUE")
	ctx.CreateAttr("NAME", "EnumerationContext")
	ctx.CreateAttr("PARAMTYPE", "string")
	if id != "" {
		ctx.CreateElement("VALUE").SetText(id)
	}
	eos := out.CreateElement("PARAMVALUE")
	eos.CreateAttr("NAME", "EndOfSequence")
	eos.CreateAttr("PARAMTYPE", "boolean")
	text := "FALSE"
	if end {
		text = "TRUE"
	}
	eos.CreateElement("VALUE").SetText(text)
}

func (s *Server) pull(c *call, out *etree.Element) error {
	if err := c.checkParams("EnumerationContext", "MaxObjectCount"); err != nil {
		return err
	}
	count, err := s.maxObjectCount(c)
	if err != nil {
		return err
	}
	if _, ok, _ := c.uintParam("MaxObjectCount"); !ok {
		return cimErr(cimmodel.StatusInvalidParameter, "%s needs MaxObjectCount", c.req.Method)
	}
	id := strings.TrimSpace(c.stringParam("EnumerationContext"))
	en, batch, last, err := s.enums.take(id, c.user, count)
	if err != nil {
		return err
	}
	wantInstances := strings.EqualFold(c.req.Method, "PullInstancesWithPath")
	if wantInstances != en.instances {
		return cimErr(statusInvalidEnumerationContext, "the enumeration context was opened for another kind of item")
	}
	rv := returnValue(out)
	if en.instances {
		insts, err := s.registry.Instances(c.ctx, batch)
		if err != nil {
			return err
		}
		for i, inst := range insts {
			if inst != nil {
				s.pullItem(rv, en, inst, batch[i])
			}
		}
	} else {
		for _, p := range batch {
			s.pullItem(rv, en, nil, p)
		}
	}
	if last {
		id = ""
	}
	pullTail(out, id, last)
	return nil
}

func (s *Server) closeEnumeration(c *call, out *etree.Element) error {
	if err := c.checkParams("EnumerationContext"); err != nil {
		return err
	}
	return s.enums.close(strings.TrimSpace(c.stringParam("EnumerationContext")), c.user)
}
