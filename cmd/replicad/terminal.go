package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal makes replicad the foreground process group of the terminal
// on stdin, as a shell does for the job it runs, so that Ctrl-C reaches
// replicad alone: replicad then shuts down cleanly and exits 0, and the
// programs that started it (make run, go run) see that status instead of
// dying of the interrupt themselves. It returns a function that gives the
// terminal back to the group that had it. When stdin is not a terminal, or
// replicad is not in its foreground (started with &), it does nothing.
func takeTerminal() (restore func()) {
	fd := int(os.Stdin.Fd())
	previous, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || previous != syscall.Getpgrp() {
		return func() {} // not a terminal, or we run in the background: leave it
	}
	if err := syscall.Setpgid(0, 0); err != nil {
		return func() {}
	}
	setForeground := func(pgrp int) {
		// A background group that changes the foreground group gets
		// SIGTTOU, which would stop it: ignore it for the call.
		signal.Ignore(syscall.SIGTTOU)
		defer signal.Reset(syscall.SIGTTOU)
		_ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, pgrp)
	}
	setForeground(syscall.Getpgrp())
	return func() { setForeground(previous) }
}
