package replica

import (
	"context"
	"errors"
	"fmt"

	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/store"
)

// abort stops the Resync jobs of ids; their synchronizations become
// Aborted (restart with Resync Replica). A Restore cannot be aborted (the
// source would be left half restored) and an initial copy is stopped by
// terminating its job.
func (s *Service) abort(ctx context.Context, ids []string) error {
	syncs, err := s.loadSyncs(ctx, ids)
	if err != nil {
		return err
	}
	jobs := map[string]bool{}
	for _, x := range syncs {
		switch {
		case x.CopyState != CopyStateUnsynchronized && x.CopyState != CopyStateInitialized:
			return fmt.Errorf("%w: Abort of %s → %s is not allowed from %s: no copy runs", ErrInvalidState, x.Source, x.Target, x.CopyState)
		case x.Activity == ActivityNone:
			return fmt.Errorf("%w: Abort of the initial copy %s → %s: terminate its copy job instead", ErrNotSupported, x.Source, x.Target)
		case x.Activity == ActivityRestoring:
			return fmt.Errorf("%w: Abort of a Restore From Replica (%s → %s) would leave the source half restored", ErrInvalidState, x.Source, x.Target)
		case x.Activity == ActivityFollowing:
			return fmt.Errorf("%w: Abort of a mirror catching up (%s → %s): use Fracture or Suspend", ErrInvalidState, x.Source, x.Target)
		}
		jobs[x.ModifyJob] = true
	}
	return s.stopJobs(ctx, jobs)
}

// abortRunning aborts the Resync or Restore jobs working on ids (Force).
func (s *Service) abortRunning(ctx context.Context, ids []string) error {
	syncs, err := s.loadSyncs(ctx, ids)
	if err != nil {
		return err
	}
	jobs := map[string]bool{}
	for _, x := range syncs {
		if x.CopyState == CopyStateUnsynchronized && (x.Activity == ActivityResyncing || x.Activity == ActivityRestoring) && x.ModifyJob != "" {
			jobs[x.ModifyJob] = true
		}
	}
	return s.stopJobs(ctx, jobs)
}

// stopJobs terminates jobs and waits until each has stopped (its handler
// then leaves its synchronizations Aborted).
func (s *Service) stopJobs(ctx context.Context, jobs map[string]bool) error {
	if len(jobs) == 0 {
		return nil
	}
	s.mu.Lock()
	err := s.db.Update(func(tx *store.Tx) error {
		all, err := listRecords[Synchronization](tx, bucketSyncs)
		if err != nil {
			return err
		}
		for _, x := range all {
			if jobs[x.ModifyJob] && (x.Activity == ActivityResyncing || x.Activity == ActivityRestoring) {
				x.Aborting = true
				if err := tx.Put(bucketSyncs, x.ID, &x); err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("abort: %w", err)
	}
	for id := range jobs {
		if err := s.jobs.Terminate(id); err != nil && !errors.Is(err, jobqueue.ErrFinished) {
			return fmt.Errorf("abort job %s: %w", id, err)
		}
		j, err := s.jobs.Wait(ctx, id)
		if err != nil {
			return fmt.Errorf("abort job %s: %w", id, err)
		}
		if j.State == jobqueue.StateTerminated && j.Attempts == 0 {
			// Never started: no handler will set the state.
			if err := s.settle(id, CopyStateAborted); err != nil {
				return err
			}
		}
	}
	return nil
}
