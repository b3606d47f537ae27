package iscsi

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/volumes"
)

// Quiesce sets the targets that map vols offline (tgt's target state
// offline: tgtd takes no new commands for them), waits until tgtd has no
// command in flight (drain), and returns resume, which re-opens LUNs whose
// volume file was replaced meanwhile and sets the targets ready again.
// Volumes no target maps need nothing: resume is then a no-op. Quiesce
// calls nest: a target is ready again when every Quiesce on it resumed.
// While tgtd is down there is nothing in flight; a tgtd restarted during
// the quiesce starts the targets offline. Errors: the targets could not be
// set offline, or commands did not drain within Options.DrainTimeout (the
// targets are then ready again).
func (s *Service) Quiesce(ctx context.Context, vols []VolumeRef) (resume func(), err error) {
	refs := map[VolumeRef]bool{}
	for _, v := range vols {
		refs[VolumeRef{Pool: v.Pool, Volume: v.Volume}] = true
	}
	return s.quiesce(ctx, func(l lunRecord) bool { return refs[VolumeRef{Pool: l.Pool, Volume: l.Volume}] })
}

// QuiesceVolumes is Quiesce for volumes named by ID (replica's hook).
func (s *Service) QuiesceVolumes(ctx context.Context, ids []volumes.ID) (resume func(), err error) {
	set := map[volumes.ID]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return s.quiesce(ctx, func(l lunRecord) bool { return set[l.VolumeID] })
}

func (s *Service) quiesce(ctx context.Context, match func(lunRecord) bool) (func(), error) {
	s.mu.Lock()
	var (
		names []string
		ids   []volumes.ID
	)
	err := s.db.View(func(tx *store.Tx) error {
		recs, err := allTargets(tx)
		for _, r := range recs {
			found := false
			for _, l := range r.LUNs {
				if match(l) {
					found = true
					ids = append(ids, l.VolumeID)
				}
			}
			if found {
				names = append(names, r.Name)
			}
		}
		return err
	})
	if err != nil || len(names) == 0 {
		s.mu.Unlock()
		return func() {}, err
	}
	only := map[string]bool{}
	for _, n := range names {
		s.quiesced[n]++
		only[n] = true
	}
	pid := s.tgtdPid()
	if pid != 0 {
		// reconcile sets quiesced targets offline (and fixes anything else).
		err = s.reconcileLocked(ctx, only)
	}
	s.mu.Unlock()
	var once sync.Once
	resume := func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, n := range names {
				if s.quiesced[n]--; s.quiesced[n] <= 0 {
					delete(s.quiesced, n)
				}
			}
			if s.tgtdPid() == 0 {
				return
			}
			if err := s.reconcileLocked(context.Background(), only); err != nil {
				s.log.Error("resume after quiesce", zap.Strings("targets", names), zap.Error(err))
			}
		})
	}
	if err == nil && pid != 0 {
		err = s.drain(ctx, pid, s.volumeFiles(ctx, ids))
	}
	if err != nil {
		resume()
		return nil, fmt.Errorf("iscsi: quiesce targets %v: %w", names, err)
	}
	s.log.Info("targets quiesced", zap.Strings("targets", names))
	return resume, nil
}

// ioSyscalls are the system calls tgtd's I/O threads make for a command.
var ioSyscalls = map[int]bool{
	unix.SYS_PREAD64: true, unix.SYS_PWRITE64: true, unix.SYS_PREADV: true, unix.SYS_PWRITEV: true,
	unix.SYS_PREADV2: true, unix.SYS_PWRITEV2: true, unix.SYS_FDATASYNC: true, unix.SYS_FSYNC: true,
	unix.SYS_SYNC_FILE_RANGE: true, unix.SYS_FALLOCATE: true, unix.SYS_IO_SUBMIT: true,
}

// volumeFiles are the device and inode of the volumes' current files.
func (s *Service) volumeFiles(ctx context.Context, ids []volumes.ID) map[fileID]bool {
	files := map[fileID]bool{}
	for _, id := range ids {
		v, err := s.vols.Get(ctx, id)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(v.Path(), &st) == nil {
			files[fileID{uint64(st.Dev), st.Ino}] = true
		}
	}
	return files
}

// drain waits until no thread of tgtd (pid) is running or in an I/O
// system call on one of files, seen twice in a row: with their targets
// offline, tgtd then has no command in flight on them (I/O on other
// targets' files goes on). When tgtd's threads cannot be inspected it
// waits a fixed 100 ms instead.
func (s *Service) drain(ctx context.Context, pid int, files map[fileID]bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DrainTimeout)
	defer cancel()
	idle := 0
	for idle < 2 {
		busy, err := tgtdBusy(pid, files)
		if err != nil {
			s.log.Warn("cannot see tgtd's threads; draining by a fixed pause", zap.Error(err))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			return nil
		}
		if busy {
			idle = 0
		} else {
			idle++
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("commands in flight did not drain: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// tgtdBusy reports whether a thread of pid is running or in an I/O system
// call on a descriptor of one of files, from /proc/pid/task/*/syscall (the
// call's number, then its arguments, the first one the descriptor).
func tgtdBusy(pid int, files map[fileID]bool) (bool, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	if err != nil || len(tasks) == 0 {
		return false, fmt.Errorf("no tasks of tgtd %d", pid)
	}
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			if os.IsNotExist(err) {
				continue // the thread exited
			}
			return false, err
		}
		f := bytes.Fields(raw)
		if len(f) == 0 {
			return false, fmt.Errorf("%s: empty", t)
		}
		if string(f[0]) == "running" {
			return true, nil
		}
		n, err := strconv.Atoi(string(f[0]))
		if err != nil {
			return false, fmt.Errorf("%s: %q", t, f[0])
		}
		if ioSyscalls[n] && len(f) > 1 && onFiles(pid, string(f[1]), files) {
			return true, nil
		}
	}
	return false, nil
}

// onFiles reports whether descriptor fd (hexadecimal, as
// /proc/pid/task/*/syscall shows it) of pid is one of files; one it
// cannot tell counts as on them.
func onFiles(pid int, fd string, files map[fileID]bool) bool {
	n, err := strconv.ParseUint(strings.TrimPrefix(fd, "0x"), 16, 32)
	if err != nil {
		return true
	}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/fd/%d", pid, n), &st); err != nil {
		return !os.IsNotExist(err)
	}
	return files[fileID{uint64(st.Dev), st.Ino}]
}
