package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/replicad/replicad/volumes"
	"github.com/replicad/replicad/wsman"
)

// Config is the daemon's configuration, from flags.
type Config struct {
	Listen    string // plain HTTP listener, "" for none
	ListenTLS string // HTTPS listener, "" for none
	TLSCert   string
	TLSKey    string
	DataDir   string
	UsersFile string // "" → DataDir/users, created on first start
	LogFormat string // json or console
	// OwnTerminal is --own-terminal: take the terminal's foreground so that
	// Ctrl-C reaches replicad alone (make run uses it; terminal.go).
	OwnTerminal bool
	// Keytab enables Kerberos with the service keys in this file;
	// KerberosPrincipal restricts tickets to one of its principals.
	Keytab            string
	KerberosPrincipal string
	// MetricsListen serves /metrics and /healthz over plain HTTP, without
	// authentication; "" (the default) for none.
	MetricsListen string
	// CopyBandwidth caps each replica copy in bytes per second (0: unlimited).
	CopyBandwidth int64
	// ScrubRate verifies every Synchronized replica against its source in
	// the background at this many bytes per second (0: off).
	ScrubRate int64
	// MirrorLag bounds how long a write to a mirrored source goes unnoticed.
	MirrorLag time.Duration
	// MirrorScan is how often each mirror's whole target is compared with
	// its source, for changes no file stamp shows (0: 6h, negative: never).
	MirrorScan time.Duration
	// MemoryLimit is the Go runtime's soft memory limit in bytes (0: none);
	// past it the collector works harder rather than letting the heap grow.
	MemoryLimit int64
	// GCPercent is the collector's GOGC: a collection starts when the heap
	// has grown by this percentage since the last (0: the runtime's, 100,
	// or the GOGC environment variable). GOGC in the environment takes
	// precedence (applyGC). The default, 200, halves the collections of the
	// request path for a few MB more (docs: bench/load, issue 19).
	GCPercent int
	// TLSCompat lets TLS 1.2 clients use the CBC-SHA1 cipher suites of Go's
	// default list; without it TLS 1.2 offers AEAD suites only.
	TLSCompat bool
	// MaxConnections and MaxConnectionsPerSource cap the open connections
	// of each listener, in total and from one address (IPv6: one /64);
	// 0 means the default (wsman.ConnLimits).
	MaxConnections          int
	MaxConnectionsPerSource int
	// ChannelBinding is how strictly NTLM and Kerberos logons over HTTPS
	// must carry the TLS channel's binding (Windows' CbtHardeningLevel).
	ChannelBinding wsman.ChannelBindingLevel
	// ISCSI is --iscsi (on, off, auto) and ISCSIListen the portal tgtd
	// listens on; ISCSIBaseIQN overrides the recorded base of target IQNs.
	ISCSI        iscsiMode
	ISCSIListen  string
	ISCSIBaseIQN string
	// AllowUnencrypted permits Basic over plain HTTP. Unset (nil) means:
	// allowed only when every listener is on a loopback address.
	AllowUnencrypted *bool
	// CIMXMLListen serves CIM-XML (DSP0200) on /cimom, "" (the default) for
	// none: HTTPS with --tls-cert/--tls-key when they are given, else HTTP.
	CIMXMLListen string
	// Provisioning is the pools' space policies (--provisioning,
	// --pool-policy; provisioning.go).
	Provisioning volumes.ProvisioningOptions
}

// DefaultConfig returns the embedded defaults `make run` uses.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:5985", DataDir: "./replicad-data", LogFormat: "json", GCPercent: DefaultGCPercent,
		ISCSI: iscsiAuto, ISCSIListen: "127.0.0.1:3260",
		Provisioning: volumes.ProvisioningOptions{Default: volumes.DefaultPolicy}}
}

// DefaultGCPercent is the daemon's GOGC unless configured: measured with
// BenchmarkRequestPath (CPU time of 20,000 Gets, 3 paired rounds) a Get cost
// 57 µs of CPU against 67 µs at the runtime's 100 (400: 47 µs), and in
// bench/load the daemon's peak RSS went from 33-35 MB to 42 MB (400: 60 MB).
const DefaultGCPercent = 200

// optionalBool is a boolean flag that remembers whether it was given.
type optionalBool struct{ v **bool }

func (o optionalBool) String() string {
	if o.v == nil || *o.v == nil {
		return ""
	}
	return strconv.FormatBool(**o.v)
}

func (o optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*o.v = &b
	return nil
}

func (o optionalBool) IsBoolFlag() bool { return true }

// ParseFlags fills c from command-line arguments.
func (c *Config) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("replicad", flag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", c.Listen, "plain HTTP listen address (WinRM convention: port 5985)")
	fs.StringVar(&c.ListenTLS, "listen-tls", c.ListenTLS, "HTTPS listen address (port 5986 by convention); needs --tls-cert and --tls-key")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate file for --listen-tls")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key file for --listen-tls")
	fs.BoolVar(&c.TLSCompat, "tls-compat", c.TLSCompat, "also offer TLS 1.2 clients the CBC-SHA1 cipher suites (default: AEAD suites only)")
	fs.TextVar(&c.ChannelBinding, "channel-binding", c.ChannelBinding, "channel binding (Extended Protection) of NTLM and Kerberos logons over HTTPS: none, relaxed (check a binding the client sends) or strict (refuse a logon without a correct one)")
	fs.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections, "open connections per listener, in total (0: 4096)")
	fs.IntVar(&c.MaxConnectionsPerSource, "max-connections-per-source", c.MaxConnectionsPerSource, "open connections per listener from one address or IPv6 /64 (0: 512)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data folder: state.db and pools/")
	fs.StringVar(&c.UsersFile, "users", c.UsersFile, "htpasswd file with bcrypt hashes (htpasswd -B); default DATA/users, created with an admin user on first start")
	fs.Var(optionalBool{&c.AllowUnencrypted}, "allow-unencrypted", "allow Basic authentication over plain HTTP (default: only when every listener is on loopback)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: json or console")
	fs.BoolVar(&c.OwnTerminal, "own-terminal", false, "become the terminal's foreground job, so that Ctrl-C stops replicad alone and whatever started it (make run) sees its exit status")
	fs.StringVar(&c.Keytab, "keytab", c.Keytab, "Kerberos keytab with the service keys (e.g. HTTP/host); enables Kerberos logons")
	fs.StringVar(&c.KerberosPrincipal, "kerberos-principal", c.KerberosPrincipal, "accept only tickets for this keytab principal (e.g. HTTP/host.example.com) and its HTTP/-WSMAN/ twin; default any in the keytab")
	fs.DurationVar(&c.MirrorLag, "mirror-lag", c.MirrorLag, "how long a write to the source of an Asynchronous Mirror may go unnoticed (default 2s)")
	fs.DurationVar(&c.MirrorScan, "mirror-scan", c.MirrorScan, "how often each Asynchronous Mirror's whole target is compared with its source, for changes no file stamp shows (0: 6h; negative: never)")
	fs.Int64Var(&c.MemoryLimit, "memory-limit", c.MemoryLimit, "soft memory limit of the daemon in bytes (0: none), as GOMEMLIMIT")
	fs.IntVar(&c.GCPercent, "gc-percent", c.GCPercent, "heap growth in percent that starts a garbage collection, as GOGC (0: the runtime's); GOGC in the environment takes precedence")
	fs.Int64Var(&c.CopyBandwidth, "copy-bandwidth", c.CopyBandwidth, "cap each replica copy at this many bytes per second (0: unlimited)")
	fs.Int64Var(&c.ScrubRate, "scrub-rate", c.ScrubRate, "verify every Synchronized replica against its source in the background at this many bytes per second; a mismatch makes it Broken (0: off)")
	fs.StringVar(&c.CIMXMLListen, "cimxml-listen", c.CIMXMLListen, "CIM-XML (DSP0200, SMI-S clients) listen address on /cimom, default off (5988 by convention, 5989 with --tls-cert/--tls-key: HTTPS)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "address for /metrics (Prometheus) and /healthz, plain HTTP without authentication; default off")
	fs.Var(&c.ISCSI, "iscsi", "iSCSI data plane (replicad's own tgtd): on, off, or auto (on when tgtd is installed; a tgtd that cannot start is logged)")
	fs.StringVar(&c.ISCSIListen, "iscsi-listen", c.ISCSIListen, "iSCSI portal address (IP:port) of replicad's tgtd; ports from 1024 need no privileges")
	fs.StringVar(&c.ISCSIBaseIQN, "iscsi-base-iqn", c.ISCSIBaseIQN, "base of target IQNs (target IQN = BASE:name); default the recorded one, first iqn.2026-12.<reversed host name>")
	fs.Var(defaultPolicyFlag{&c.Provisioning}, "provisioning", "space policy of every pool: thin[,overcommit=PCT][,low-space=PCT] (provision up to PCT of the filesystem's size, 0: no limit) or thick[,low-space=PCT]")
	fs.Var(poolPolicyFlag{&c.Provisioning}, "pool-policy", "NAME=POLICY: one pool's space policy, as --provisioning (repeatable)")
	fs.Usage = func() { printUsage(fs.Output(), fs.PrintDefaults) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c.Validate()
}

// Validate checks that the configuration can work.
func (c *Config) Validate() error {
	if c.Listen == "" && c.ListenTLS == "" {
		return errors.New("no listener: give --listen or --listen-tls")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") && c.CIMXMLListen != "" {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.ListenTLS != "" && (c.TLSCert == "" || c.TLSKey == "") {
		return errors.New("--listen-tls needs --tls-cert and --tls-key")
	}
	if c.DataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if c.MirrorLag < 0 {
		return fmt.Errorf("--mirror-lag must not be negative")
	}
	if c.MemoryLimit < 0 {
		return fmt.Errorf("--memory-limit must not be negative")
	}
	if c.GCPercent < 0 {
		return fmt.Errorf("--gc-percent must not be negative")
	}
	if c.MaxConnections < 0 || c.MaxConnectionsPerSource < 0 {
		return fmt.Errorf("--max-connections and --max-connections-per-source must not be negative")
	}
	if c.CopyBandwidth < 0 {
		return fmt.Errorf("--copy-bandwidth must not be negative")
	}
	if c.ScrubRate < 0 {
		return fmt.Errorf("--scrub-rate must not be negative")
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		return fmt.Errorf("--log-format must be json or console, not %q", c.LogFormat)
	}
	for _, addr := range []string{c.Listen, c.ListenTLS, c.MetricsListen, c.CIMXMLListen, c.ISCSIListen} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("listen address %q: %w", addr, err)
		}
	}
	return nil
}

// allowUnencrypted resolves the AllowUnencrypted default: Basic over plain
// HTTP only when no listener can be reached from another host.
func (c *Config) allowUnencrypted() bool {
	if c.AllowUnencrypted != nil {
		return *c.AllowUnencrypted
	}
	for _, addr := range []string{c.Listen, c.ListenTLS, c.CIMXMLListen} {
		if addr != "" && !isLoopback(addr) {
			return false
		}
	}
	return true
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
