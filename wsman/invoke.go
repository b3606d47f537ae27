package wsman

import (
	"errors"

	"github.com/beevik/etree"
	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/soap"
)

// invoke answers a custom action: a CIM method call on the instance named by
// ResourceURI and SelectorSet (DSP0227 §9). The body is <p:Method_INPUT>; the
// answer <p:Method_OUTPUT> with the out-parameters and ReturnValue, under the
// action ResourceURI/MethodResponse.
func (s *Server) invoke(req *request, method string) (*soap.Message, error) {
	t, path, err := s.resolvePath(req.header())
	if err != nil {
		return nil, err
	}
	input := req.env.Body
	if input == nil {
		input = etree.NewElement(method + "_INPUT")
	} else if input.Tag != method+"_INPUT" {
		return nil, protoErr(faultSchemaValidation, "The body of a %s invocation must be %s_INPUT, not %s.", method, method, input.Tag)
	}
	res, m, err := s.registry.Invoke(req.ctx, path, method, input)
	var invalid *cimmodel.InvalidParameterError
	if errors.As(err, &invalid) && m != nil {
		// Checked parameters that break the method's rules answer ReturnValue
		// 5, as WMI providers do; the reason goes to the log, and to the
		// client in the ExtendedStatus out-parameter (a CIM_Error) when the
		// method declares it.
		s.Logger.Info("invoke: invalid parameter",
			zap.String("method", method), zap.String("path", path.String()),
			zap.String("messageID", req.header().MessageID), zap.Error(err))
		err = nil
	}
	if err != nil {
		return nil, err
	}
	reply := soap.NewResponse(req.header(), req.header().Action+"Response")
	reply.SetBody(func(b []byte) []byte { return cimmodel.AppendOutput(b, m, t.uri, res) })
	return reply, nil
}
