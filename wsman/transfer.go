package wsman

import (
	"errors"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// get answers WS-Transfer Get: the instance named by ResourceURI and
// SelectorSet (DSP0226 §7.3).
func (s *Server) get(req *request) (*soap.Message, error) {
	_, path, err := s.resolvePath(req.header())
	if err != nil {
		return nil, err
	}
	inst, err := s.registry.Get(req.ctx, path)
	if err != nil {
		return nil, selectorError(err)
	}
	m := soap.NewResponse(req.header(), soap.ActionGetResponse)
	cimmodel.EncodeInstance(m.Body(), inst)
	return m, nil
}

// put answers WS-Transfer Put: the body holds the instance with the changed
// writable properties; the answer holds the instance as it is now.
func (s *Server) put(req *request) (*soap.Message, error) {
	t, path, err := s.resolvePath(req.header())
	if err != nil {
		return nil, err
	}
	if req.env.Body == nil {
		return nil, protoErr(faultSchemaValidation, "Put needs the instance in the body.")
	}
	changes, err := cimmodel.DecodeInstance(s.registry, t.namespace, req.env.Body)
	if err != nil {
		return nil, err
	}
	inst, err := s.registry.Modify(req.ctx, path, changes)
	if err != nil {
		return nil, selectorError(err)
	}
	m := soap.NewResponse(req.header(), soap.ActionPutResponse)
	cimmodel.EncodeInstance(m.Body(), inst)
	return m, nil
}

// delete answers WS-Transfer Delete of the named instance.
func (s *Server) delete(req *request) (*soap.Message, error) {
	_, path, err := s.resolvePath(req.header())
	if err != nil {
		return nil, err
	}
	if err := s.registry.Delete(req.ctx, path); err != nil {
		return nil, selectorError(err)
	}
	return soap.NewResponse(req.header(), soap.ActionDeleteResponse), nil
}

// selectorError turns a registry's complaint about a path's keys into the
// InvalidSelectors fault that a Get, Put or Delete gets for them.
func selectorError(err error) error {
	var ce *cimmodel.Error
	if errors.As(err, &ce) && ce.Status == cimmodel.StatusInvalidParameter {
		return &protocolError{kind: faultInvalidSelectors, message: ce.Message, err: err}
	}
	return err
}
