package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/replica"
)

// CIM_ConcreteJob.JobState values (§3.6).
const (
	jobStateNew        uint16 = 2
	jobStateRunning    uint16 = 4
	jobStateCompleted  uint16 = 7
	jobStateTerminated uint16 = 8
	jobStateException  uint16 = 10
)

// RequestStateChange.RequestedState values (§3.6).
const (
	requestStart     uint16 = 2
	requestTerminate uint16 = 4
	requestKill      uint16 = 5
)

// concreteJobClass declares MSISCSITARGET_ConcreteJob: every job of the
// queue as a CIM_ConcreteJob (key InstanceID "replicad:job:<uuid>").
// What clients rely on (§6.5): a finished job is JobState 7,
// OperationalStatus exactly [2, 17], PercentComplete 100, ErrorCode 0; a
// failed one JobState 10 and a terminated one JobState 8, both with
// OperationalStatus [6, 17], ErrorCode ≠ 0, an ErrorDescription and a
// CIM_Error from GetError; PercentComplete is 100 for the failed one and
// the share done (below 100) for the terminated one, which is not complete.
func (p *Provider) concreteJobClass() *cimmodel.Class {
	c := &cimmodel.Class{Name: concreteJobClassName, Superclass: "CIM_ConcreteJob", Namespace: Namespace}
	c.Provider = &jobProvider{p: p, class: c}
	c.Methods = []*cimmodel.Method{
		{
			Name: "RequestStateChange", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "7..4095", "4096", "4097", "4098", "4099", "4100..32767", "32768..65535"},
			ReturnValues: []string{"Completed with No Error", "Not Supported", "Unknown/Unspecified Error", "Can NOT complete within Timeout Period",
				"Failed", "Invalid Parameter", "In Use", "DMTF Reserved", "Method Parameters Checked - Transition Started",
				"Invalid State Transition", "Use of Timeout Parameter Not Supported", "Busy", "Method Reserved", "Vendor Specific"},
			Description: "4 Terminate and 5 Kill stop the copy and remove every target, group and synchronization it created.",
			Params: []cimmodel.Parameter{
				rRequired(rParamMap(rIn("RequestedState", cimmodel.TypeUint16),
					[]string{"2", "3", "4", "5", "6", "7..32767", "32768..65535"},
					[]string{"Start", "Suspend", "Terminate", "Kill", "Service", "DMTF Reserved", "Vendor Reserved"})),
				rIn("TimeoutPeriod", cimmodel.TypeDatetime),
			},
			Func: p.requestJobStateChange,
		},
		{
			Name: "GetError", ReturnType: cimmodel.TypeUint32,
			ReturnValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "..", "32768..65535"},
			ReturnValues: []string{"Success", "Not Supported", "Unspecified Error", "Timeout", "Failed", "Invalid Parameter",
				"Access Denied", "DMTF Reserved", "Vendor Specific"},
			Params: []cimmodel.Parameter{{Name: "Error", Type: cimmodel.TypeInstance, Out: true, EmbeddedClass: cimErrorClassName}},
			Func:   p.getJobError,
		},
	}
	return c
}

// jobProvider serves the jobs of the queue.
type jobProvider struct {
	p     *Provider
	class *cimmodel.Class
}

// EnumerateInstances returns every job.
func (jp *jobProvider) EnumerateInstances(ctx context.Context) ([]*cimmodel.Instance, error) {
	jobs, err := jp.p.jobs.List()
	if err != nil {
		return nil, replicationError(fmt.Errorf("list jobs: %w", err))
	}
	out := make([]*cimmodel.Instance, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, jp.p.jobInstance(jp.class, j))
	}
	return out, nil
}

// GetInstance returns the job path names.
func (jp *jobProvider) GetInstance(ctx context.Context, path cimmodel.ObjectPath) (*cimmodel.Instance, error) {
	j, err := jp.p.jobOf(path)
	if err != nil {
		return nil, err
	}
	return jp.p.jobInstance(jp.class, j), nil
}

// DeleteInstance removes a finished job (what clients do when
// DeleteOnCompletion is false).
func (jp *jobProvider) DeleteInstance(ctx context.Context, path cimmodel.ObjectPath) error {
	id, ok := jobIDOf(path)
	if !ok {
		return cimmodel.Errorf(cimmodel.StatusNotFound, "no job %s", path)
	}
	if err := jp.p.jobs.Delete(id); err != nil {
		return replicationError(fmt.Errorf("delete job %s: %w", id, err))
	}
	return nil
}

// ModifyInstance changes DeleteOnCompletion and TimeBeforeRemoval.
func (jp *jobProvider) ModifyInstance(ctx context.Context, path cimmodel.ObjectPath, changes *cimmodel.Instance) (*cimmodel.Instance, error) {
	j, err := jp.p.jobOf(path)
	if err != nil {
		return nil, err
	}
	del := j.DeleteOnCompletion
	if v := changes.Get("DeleteOnCompletion"); !v.IsNull() {
		del, _ = v.AsBool()
	}
	var keep time.Duration
	if v := changes.Get("TimeBeforeRemoval"); !v.IsNull() {
		d, _ := v.AsDatetime()
		if !d.IsInterval || d.Interval <= 0 {
			return nil, cimmodel.Errorf(cimmodel.StatusInvalidParameter, "TimeBeforeRemoval must be a positive interval")
		}
		keep = d.Interval
	}
	if err := jp.p.jobs.SetRetention(j.ID, del, keep); err != nil {
		return nil, replicationError(err)
	}
	return jp.GetInstance(ctx, path)
}

// jobOf returns the job path names.
func (p *Provider) jobOf(path cimmodel.ObjectPath) (jobqueue.Job, error) {
	id, ok := jobIDOf(path)
	if !ok {
		return jobqueue.Job{}, cimmodel.Errorf(cimmodel.StatusNotFound, "no job %s", path)
	}
	j, err := p.jobs.Get(id)
	if err != nil {
		return jobqueue.Job{}, replicationError(fmt.Errorf("job %s: %w", id, err))
	}
	return j, nil
}

// jobStatus maps a queue state to JobState, OperationalStatus and JobStatus.
func jobStatus(j jobqueue.Job) (state uint16, opStatus []uint16, text string) {
	switch j.State {
	case jobqueue.StateNew:
		return jobStateNew, []uint16{statusOK}, "New"
	case jobqueue.StateRunning:
		return jobStateRunning, []uint16{statusOK}, "Running"
	case jobqueue.StateCompleted:
		return jobStateCompleted, []uint16{statusOK, statusCompleted}, "Completed"
	case jobqueue.StateTerminated:
		return jobStateTerminated, []uint16{statusError, statusCompleted}, "Terminated"
	}
	return jobStateException, []uint16{statusError, statusCompleted}, "Failed"
}

// jobInstance presents job j.
func (p *Provider) jobInstance(c *cimmodel.Class, j jobqueue.Job) *cimmodel.Instance {
	state, opStatus, text := jobStatus(j)
	changed := j.Submitted
	if !j.Started.IsZero() {
		changed = j.Started
	}
	if !j.Finished.IsZero() {
		changed = j.Finished
	}
	inst := cimmodel.NewInstance(c).
		Set("InstanceID", cimmodel.String(jobInstancePrefix+j.ID)).
		Set("Name", cimmodel.String(j.Name)).
		Set("ElementName", cimmodel.String(j.Name)).
		Set("Description", cimmodel.String(j.Description)).
		Set("JobState", cimmodel.Uint16(state)).
		Set("OperationalStatus", cimmodel.Uint16s(opStatus)).
		Set("JobStatus", cimmodel.String(text)).
		Set("PercentComplete", cimmodel.Uint16(j.PercentComplete)).
		Set("TimeSubmitted", timeValue(j.Submitted)).
		Set("StartTime", timeValue(j.Started)).
		Set("TimeOfLastStateChange", timeValue(changed)).
		Set("ElapsedTime", cimmodel.IntervalValue(j.Elapsed(time.Now()))).
		Set("DeleteOnCompletion", cimmodel.Bool(j.DeleteOnCompletion)).
		Set("TimeBeforeRemoval", cimmodel.IntervalValue(j.TimeBeforeRemoval)).
		Set("ErrorCode", cimmodel.Uint16(uint16(min(j.ErrorCode, math.MaxUint16)))).
		Set("JobRunTimes", cimmodel.Uint32(1)).
		Set("LocalOrUtcTime", cimmodel.Uint16(2)).
		Set("Owner", cimmodel.String(j.Owner))
	if sum := copySummary(j); sum != "" {
		inst.Set("JobStatus", cimmodel.String(text+": "+sum))
	}
	if j.Err != "" {
		inst.Set("ErrorDescription", cimmodel.String(clientMessage(errors.New(j.Err))))
		inst.Set("JobStatus", cimmodel.String(text+": "+clientMessage(errors.New(j.Err))))
	}
	return inst
}

// copySummary tells, for JobStatus, how a finished copy job moved its data: the
// engine's data path per member ("copied disk1 to disk1_clone by readwrite (O_DIRECT),
// 64.0 MiB in 0.52 s"), the first few members and a count of the rest.
func copySummary(j jobqueue.Job) string {
	var reports []replica.CopyReport
	if j.Kind != replica.KindCopy || len(j.Result) == 0 || json.Unmarshal(j.Result, &reports) != nil {
		return ""
	}
	const shown = 4
	var parts []string
	for i, r := range reports {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(reports)-shown))
			break
		}
		parts = append(parts, fmt.Sprintf("copied %s to %s by %s, %.1f MiB in %.2f s",
			r.Source, r.Target, r.DataPath(), float64(r.BytesCopied)/(1<<20), r.Seconds))
	}
	return strings.Join(parts, "; ")
}

func (p *Provider) requestJobStateChange(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	const method = "RequestStateChange"
	j, err := p.jobOf(target)
	if err != nil {
		return cimmodel.Result{}, err
	}
	if v, ok := in.Get("TimeoutPeriod"); ok && !v.IsNull() {
		if d, _ := v.AsDatetime(); !d.IsInterval || d.Interval != 0 {
			return p.refusal(returnTimeoutNotSupport, cimmodel.StatusNotSupported,
				method+": TimeoutPeriod: only 0 (or none) is supported; the job is stopped within the call's OperationTimeout"), nil
		}
	}
	state, _ := argUint16(in, "RequestedState")
	switch state {
	case requestTerminate, requestKill:
	case requestStart:
		return p.methodFailure(method, fmt.Errorf("%w: the job %s is already started", jobqueue.ErrFinished, j.ID)), nil
	default:
		return p.methodFailure(method, fmt.Errorf("%w: RequestedState %d: jobs can only be terminated (4) or killed (5)", replica.ErrNotSupported, state)), nil
	}
	if err := p.repl.svc.Terminate(ctx, j.ID); err != nil {
		if errors.Is(err, replica.ErrOperationNotFound) {
			err = p.jobs.Terminate(j.ID)
		}
		if err != nil {
			return p.methodFailure(method, err), nil
		}
	}
	// The handler removes the targets when it stops; wait for that within
	// the OperationTimeout so that the answer 0 means "gone".
	wctx, cancel := replyDeadline(ctx)
	defer cancel()
	if _, err := p.jobs.Wait(wctx, j.ID); err != nil {
		p.logger.Info("terminate: job still stopping", zap.String("job", j.ID), zap.Error(err))
		return cimmodel.Result{ReturnValue: returnJobStarted}, nil
	}
	return cimmodel.Result{ReturnValue: returnOK}, nil
}

func (p *Provider) getJobError(ctx context.Context, target cimmodel.ObjectPath, in cimmodel.Args) (cimmodel.Result, error) {
	j, err := p.jobOf(target)
	if err != nil {
		return cimmodel.Result{}, err
	}
	if j.State != jobqueue.StateFailed && j.State != jobqueue.StateTerminated {
		return cimmodel.Result{ReturnValue: returnOK}, nil
	}
	return cimmodel.Result{ReturnValue: returnOK, Out: map[string]cimmodel.Value{
		"Error": cimmodel.Embedded(p.jobError(j)),
	}}, nil
}

// jobError is the CIM_Error of a failed or terminated job (§3.7).
func (p *Provider) jobError(j jobqueue.Job) *cimmodel.Instance {
	msg := scrubPaths(clientMessage(errors.New(j.Err)))
	id, cause := "REPLICAD0001", uint16(0)
	severity := uint16(5) // Major
	if j.State == jobqueue.StateTerminated {
		id, severity = "REPLICAD0002", 2 // Information: a client asked for it
	}
	if strings.Contains(msg, "no space") || strings.Contains(msg, "not enough free space") {
		cause = 50 // Storage Capacity Problem
	}
	return cimmodel.NewInstance(p.class(cimErrorClassName)).
		Set("ErrorType", cimmodel.Uint16(4)). // Software
		Set("OwningEntity", cimmodel.String("replicad")).
		Set("MessageID", cimmodel.String(id)).
		Set("Message", cimmodel.String(msg)).
		Set("PerceivedSeverity", cimmodel.Uint16(severity)).
		Set("ProbableCause", cimmodel.Uint16(cause)).
		Set("ErrorSource", cimmodel.String(p.jobPath(j.ID).String())).
		Set("ErrorSourceFormat", cimmodel.Uint16(2)). // CIMObjectPath
		Set("CIMStatusCode", cimmodel.Uint32(uint32(cimmodel.StatusFailed))).
		Set("CIMStatusCodeDescription", cimmodel.String(cimmodel.StatusFailed.String()))
}
