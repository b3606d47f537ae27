// Command replicad is the replication service daemon: it serves the SMI-S
// replication service of an iSCSI target over WS-Management (WinRM) on
// POST /wsman, with volumes kept as sparse image files under its data folder.
//
// Usage:
//
//	replicad [--listen ADDR] [--data-dir DIR] [--listen-tls ADDR --tls-cert FILE --tls-key FILE]
//	         [--users FILE] [--allow-unencrypted] [--log-format json|console]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "replicad:", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "replicad:", err)
		m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "replicad: shutdown:", err)
		os.Exit(1)
	}
}
