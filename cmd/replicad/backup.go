package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/replicad/replicad/store"
)

// backupSocket is the name, in the data folder, of the Unix socket a
// running daemon writes a consistent copy of state.db to (bbolt's
// Tx.WriteTo in a read transaction, while it keeps serving) for every
// connection. Only the daemon's user (and root) may connect: the socket is
// mode 0600 in the data folder.
const backupSocket = "backup.sock"

// listenBackup serves backupSocket for `replicad backup`.
func (m *Main) listenBackup() error {
	path := filepath.Join(m.Config.DataDir, backupSocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("backup socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("backup socket: %w", err)
	}
	m.backup = ln
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed by Close
			}
			go m.serveBackup(conn)
		}
	}()
	return nil
}

// serveBackup writes the store to conn and closes it.
func (m *Main) serveBackup(conn net.Conn) {
	defer conn.Close()
	start := time.Now()
	cw := &countWriter{w: conn}
	if err := m.DB.Backup(cw); err != nil {
		m.Logger.Error("backup failed", zap.Error(err))
		return
	}
	m.Logger.Info("backup written", zap.Int64("bytes", cw.n), zap.Duration("took", time.Since(start)))
}

// closeBackup stops serving the backup socket and removes it.
func (m *Main) closeBackup() {
	if m.backup != nil {
		m.backup.Close() // a Unix listener removes its socket file
		m.backup = nil
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// runBackup is `replicad backup [--data-dir DIR] [--out FILE]`: a
// consistent copy of DIR/state.db in FILE (default
// DIR/state.db.backup-TIME; "-" for standard output), through the running
// daemon's socket when it runs, else from the store file with a read
// transaction (a daemon starting meanwhile waits for the file lock). It
// returns the exit status.
func runBackup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replicad backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", DefaultConfig().DataDir, "data folder of the daemon (holds state.db and backup.sock)")
	out := fs.String("out", "", "file to write (default DATA/state.db.backup-YYYYMMDDTHHMMSS; - for standard output)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: replicad backup [--data-dir DIR] [--out FILE|-]\n\n"+
			"Writes a consistent copy of DIR/state.db: through the running daemon (DIR/backup.sock), or from\n"+
			"the file when no daemon runs. Restore: stop the daemon, copy the backup to DIR/state.db, start it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "replicad backup: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	path := *out
	if path == "" {
		path = filepath.Join(*dataDir, "state.db.backup-"+time.Now().UTC().Format("20060102T150405"))
	}
	n, via, err := backup(*dataDir, path, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "replicad backup:", err)
		return 1
	}
	if path != "-" {
		fmt.Fprintf(stdout, "backed up %d bytes of %s to %s (%s)\n", n, filepath.Join(*dataDir, "state.db"), path, via)
	}
	return 0
}

// backup writes the copy to path (stdout for "-"), through a temporary file
// renamed when complete, and says how it read the store.
func backup(dataDir, path string, stdout io.Writer) (int64, string, error) {
	write := func(w io.Writer) (string, error) {
		conn, err := net.Dial("unix", filepath.Join(dataDir, backupSocket))
		if err == nil {
			defer conn.Close()
			if _, err := io.Copy(w, conn); err != nil {
				return "", fmt.Errorf("read from the daemon: %w", err)
			}
			return "through the running daemon", nil
		}
		db, err := store.Open(filepath.Join(dataDir, "state.db"), store.Options{ReadOnly: true, LockTimeout: 2 * time.Second})
		if err != nil {
			return "", fmt.Errorf("no daemon answers on %s and the store cannot be read: %w", filepath.Join(dataDir, backupSocket), err)
		}
		defer db.Close()
		if err := db.Backup(w); err != nil {
			return "", err
		}
		return "from the store file", nil
	}
	if path == "-" {
		cw := &countWriter{w: stdout}
		via, err := write(cw)
		return cw.n, via, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".backup-*")
	if err != nil {
		return 0, "", err
	}
	defer os.Remove(tmp.Name())
	cw := &countWriter{w: tmp}
	via, err := write(cw)
	if err == nil && cw.n == 0 {
		err = errors.New("the daemon sent nothing (see its log)")
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return cw.n, via, err
}
