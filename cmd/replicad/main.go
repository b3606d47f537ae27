// Command replicad is the replication service daemon: it serves the SMI-S
// replication service of an iSCSI target over WS-Management (WinRM) on
// POST /wsman, with volumes kept as sparse image files under its data folder.
//
// Usage:
//
//	replicad [--listen ADDR] [--data-dir DIR] [--listen-tls ADDR --tls-cert FILE --tls-key FILE]
//	         [--users FILE] [--allow-unencrypted] [--log-format json|console]
//	         [--keytab FILE [--kerberos-principal HTTP/host]]
//	         [--copy-bandwidth BYTES_PER_S] [--mirror-lag DURATION] [--memory-limit BYTES] [--gc-percent PCT] [--metrics-listen ADDR]
//	         [--scrub-rate BYTES_PER_S] [--mirror-scan DURATION]
//	replicad user add|passwd|del|role|list [--users FILE | --data-dir DIR] [--role reader] [--password-stdin] NAME
//	replicad cert [--host H[,H2]] [--out DIR]
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

	if len(os.Args) > 1 { // subcommands (user.go, cert.go, backup.go, version.go)
		switch os.Args[1] {
		case "user":
			os.Exit(runUser(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
		case "cert":
			os.Exit(runCert(os.Args[2:], os.Stdout, os.Stderr))
		case "backup":
			os.Exit(runBackup(os.Args[2:], os.Stdout, os.Stderr))
		case "version", "--version", "-version":
			fmt.Println(versionLine("replicad"))
			os.Exit(0)
		}
	}
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "replicad:", err)
		os.Exit(2)
	}
	restore := func() {}
	if m.Config.OwnTerminal {
		restore = takeTerminal()
	}
	status := serve(ctx, m)
	restore()
	os.Exit(status)
}

// serve runs the daemon until ctx ends (SIGINT, SIGTERM) and returns the
// exit status: 0 after a clean shutdown.
func serve(ctx context.Context, m *Main) int {
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "replicad:", err)
		m.Close()
		return 1
	}
	<-ctx.Done()
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "replicad: shutdown:", err)
		return 1
	}
	return 0
}
