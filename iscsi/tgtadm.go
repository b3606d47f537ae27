package iscsi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// tgtadm runs tgtadm against one tgtd's control socket. Arguments go to
// exec directly, never through a shell, and every name in them has been
// validated (checkIQN, CheckTargetName) before.
type tgtadm struct {
	path    string        // tgtadm program
	socket  string        // TGT_IPC_SOCKET (tgtd listens on socket + ".0")
	timeout time.Duration // per call
}

// notRunning are tgtadm's messages when no tgtd answers on the socket.
var notRunning = []string{"can't send the request to the tgt daemon", "can't connect to the tgt daemon"}

// run runs tgtadm with args and returns its standard output. An error
// carries tgtadm's message; it matches ErrUnavailable when tgtd did not
// answer.
func (a *tgtadm) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.path, append([]string{"--lld", "iscsi"}, args...)...)
	cmd.Env = append(os.Environ(), "TGT_IPC_SOCKET="+a.socket)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.String(), nil
	}
	msg := strings.TrimSpace(stderr.String())
	what := "tgtadm " + strings.Join(args, " ")
	for _, m := range notRunning {
		if strings.Contains(msg, m) {
			return "", fmt.Errorf("%w: %s: %s", ErrUnavailable, what, msg)
		}
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnavailable, what, ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return "", fmt.Errorf("%s: %s (exit %d)", what, msg, exit.ExitCode())
	}
	return "", fmt.Errorf("%s: %w", what, err)
}

func tidArg(tid int) string { return strconv.Itoa(tid) }

func (a *tgtadm) show(ctx context.Context) ([]shownTarget, error) {
	out, err := a.run(ctx, "--op", "show", "--mode", "target")
	if err != nil {
		return nil, err
	}
	return parseShow(out)
}

// ping asks tgtd for its system state: nil once it answers.
func (a *tgtadm) ping(ctx context.Context) error {
	_, err := a.run(ctx, "--op", "show", "--mode", "sys")
	return err
}

func (a *tgtadm) newTarget(ctx context.Context, tid int, iqn string) error {
	_, err := a.run(ctx, "--op", "new", "--mode", "target", "--tid", tidArg(tid), "--targetname", iqn)
	return err
}

func (a *tgtadm) deleteTarget(ctx context.Context, tid int) error {
	_, err := a.run(ctx, "--op", "delete", "--mode", "target", "--tid", tidArg(tid), "--force")
	return err
}

func (a *tgtadm) setTargetState(ctx context.Context, tid int, state string) error {
	_, err := a.run(ctx, "--op", "update", "--mode", "target", "--tid", tidArg(tid), "--name", "state", "--value", state)
	return err
}

func (a *tgtadm) newLUN(ctx context.Context, tid, lun int, path string) error {
	_, err := a.run(ctx, "--op", "new", "--mode", "logicalunit", "--tid", tidArg(tid), "--lun", strconv.Itoa(lun),
		"--backing-store", path)
	return err
}

// updateLUN sets params ("key=value,key=value"); tgt refuses --params on
// --op new, so a LUN's serial and read-only flag are set right after it.
func (a *tgtadm) updateLUN(ctx context.Context, tid, lun int, params string) error {
	_, err := a.run(ctx, "--op", "update", "--mode", "logicalunit", "--tid", tidArg(tid), "--lun", strconv.Itoa(lun),
		"--params", params)
	return err
}

func (a *tgtadm) deleteLUN(ctx context.Context, tid, lun int) error {
	_, err := a.run(ctx, "--op", "delete", "--mode", "logicalunit", "--tid", tidArg(tid), "--lun", strconv.Itoa(lun))
	return err
}

// bindInitiator allows an initiator name (not an address: that is -I).
func (a *tgtadm) bindInitiator(ctx context.Context, tid int, iqn string) error {
	_, err := a.run(ctx, "--op", "bind", "--mode", "target", "--tid", tidArg(tid), "--initiator-name", iqn)
	return err
}

func (a *tgtadm) unbindInitiator(ctx context.Context, tid int, iqn string) error {
	_, err := a.run(ctx, "--op", "unbind", "--mode", "target", "--tid", tidArg(tid), "--initiator-name", iqn)
	return err
}

func (a *tgtadm) accounts(ctx context.Context) ([]string, error) {
	out, err := a.run(ctx, "--op", "show", "--mode", "account")
	if err != nil {
		return nil, err
	}
	var users []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "    ") && strings.TrimSpace(l) != "" {
			users = append(users, strings.TrimSpace(l))
		}
	}
	return users, nil
}

func (a *tgtadm) newAccount(ctx context.Context, user, secret string) error {
	_, err := a.run(ctx, "--op", "new", "--mode", "account", "--user", user, "--password", secret)
	return err
}

func (a *tgtadm) deleteAccount(ctx context.Context, user string) error {
	_, err := a.run(ctx, "--op", "delete", "--mode", "account", "--user", user)
	return err
}

func (a *tgtadm) bindAccount(ctx context.Context, tid int, user string) error {
	_, err := a.run(ctx, "--op", "bind", "--mode", "account", "--tid", tidArg(tid), "--user", user)
	return err
}

func (a *tgtadm) unbindAccount(ctx context.Context, tid int, user string) error {
	_, err := a.run(ctx, "--op", "unbind", "--mode", "account", "--tid", tidArg(tid), "--user", user)
	return err
}
