package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/replicad/replicad/cimmodel"
	"github.com/replicad/replicad/iscsi"
	"github.com/replicad/replicad/jobqueue"
	"github.com/replicad/replicad/metrics"
	"github.com/replicad/replicad/provider"
	"github.com/replicad/replicad/replica"
	"github.com/replicad/replicad/store"
	"github.com/replicad/replicad/users"
	"github.com/replicad/replicad/volumes"
	"github.com/replicad/replicad/wsman"
)

// Main is the running daemon: configuration plus every part it wired
// together, so that tests can run the same daemon in-process.
type Main struct {
	Config Config
	Logger *zap.Logger

	DB *store.DB
	// Volumes, Jobs and Replica are the domain the provider maps onto;
	// Main opens and closes them (the provider only uses them).
	Volumes  *volumes.Service
	Jobs     *jobqueue.Queue
	Replica  *replica.Service
	Provider *provider.Provider
	Server   *wsman.Server
	// Metrics counts requests and serves /metrics and /healthz on
	// --metrics-listen (issue 7).
	Metrics *metrics.Metrics
	// backup serves DATA/backup.sock for replicad backup (backup.go).
	backup net.Listener

	// ISCSI is the iSCSI data plane (tgtd; issue 18), opened after volumes
	// even with --iscsi=off (its guard keeps exposed volumes); iscsiOn
	// says whether it serves (cmd/replicad/iscsi.go).
	ISCSI   *iscsi.Service
	iscsiOn bool

	http []*http.Server
	done []chan error
	// addrs are the bound addresses by scheme ("http", "https",
	// "metrics"), which tests that listen on port 0 read.
	addrs map[string]net.Addr
}

// NewMain returns a daemon with the default configuration.
func NewMain() *Main { return &Main{Config: DefaultConfig()} }

// ParseFlags reads the command line into m.Config.
func (m *Main) ParseFlags(args []string) error { return m.Config.ParseFlags(args) }

// Run opens the state, wires the parts (store → volumes → jobqueue → replica
// → provider → wsman) and starts the listeners. It returns once they accept connections.
func (m *Main) Run(ctx context.Context) error {
	logger, err := newLogger(m.Config.LogFormat)
	if err != nil {
		return err
	}
	m.Logger = logger
	cfg := &m.Config
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	if gc := gcPercent(cfg.GCPercent, os.Getenv("GOGC")); gc > 0 {
		debug.SetGCPercent(gc)
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	userFile, err := m.loadUsers()
	if err != nil {
		return err
	}
	m.DB, err = store.Open(filepath.Join(cfg.DataDir, "state.db"), store.Options{})
	if err != nil {
		return err
	}
	if err := m.listenBackup(); err != nil { // replicad backup (backup.go)
		return err
	}
	// Metrics first: copy jobs feed them from the start. Job states and
	// replica stats are read at scrape time, from the provider wired below.
	m.Metrics = metrics.New(metrics.Options{
		Process:   true,
		JobStates: func() (map[string]int, error) { return m.Provider.JobStates() },
		Replicas:  m.replicaStats,
		Pools:     m.poolStats,
		Health: func(context.Context) error {
			return m.DB.View(func(*store.Tx) error { return nil })
		},
	})
	if err := m.openDomain(ctx); err != nil {
		return err
	}
	go m.watchPools(ctx, poolWatchInterval) // low-space warnings (provisioning.go)
	registry := cimmodel.NewRegistry()
	if err := m.Provider.Register(registry); err != nil {
		return err
	}

	m.Server = wsman.NewServer(registry, userFile)
	m.Server.Logger = logger.Named("wsman")
	m.Server.AllowUnencrypted = cfg.allowUnencrypted()
	m.Server.Auth.ChannelBinding = cfg.ChannelBinding
	if err := m.configureAuth(); err != nil { // NTLM names, Kerberos keytab (auth.go)
		return err
	}
	handler := m.Server.Handler()

	// Count every /wsman request by HTTP method and status; serve /metrics
	// and /healthz on their own listener when --metrics-listen is set.
	handler = m.Metrics.Middleware(handler)
	if cfg.MetricsListen != "" {
		ln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.MetricsListen, err)
		}
		m.serve(ln, m.Metrics.Handler(), "metrics")
	}

	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.Listen, err)
		}
		m.serve(m.limit(ln), handler, "http")
	}
	if cfg.ListenTLS != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		// NTLM and Kerberos logons over HTTPS are bound to this certificate
		// (wsman/channelbinding.go).
		if cert.Leaf == nil && len(cert.Certificate) > 0 {
			if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
				return fmt.Errorf("TLS certificate: %w", err)
			}
		}
		m.Server.Auth.TLSCertificate = cert.Leaf
		ln, err := net.Listen("tcp", cfg.ListenTLS)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.ListenTLS, err)
		}
		m.serve(tls.NewListener(m.limit(ln), tlsConfig(cert, cfg.TLSCompat)), handler, "https")
	}
	if err := m.serveCIMXML(registry, userFile); err != nil { // --cimxml-listen (cimxml.go)
		return err
	}
	if m.Server.AllowUnencrypted && cfg.Listen != "" {
		logger.Info("Basic authentication over plain HTTP is allowed", zap.Bool("allowUnencrypted", true))
	}
	return nil
}

// openDomain opens the domain on m.DB (volumes → jobqueue → replica), the
// provider over it, and starts the job queue once replica has registered
// its job handlers, which resumes the jobs the last stop interrupted.
func (m *Main) openDomain(ctx context.Context) error {
	var err error
	if m.Volumes, err = volumes.Open(m.DB, m.Config.DataDir, volumes.Options{Logger: m.Logger.Named("volumes"), Provisioning: m.Config.Provisioning}); err != nil {
		return err
	}
	if err := m.openISCSI(ctx); err != nil {
		return err
	}
	if m.Jobs, err = jobqueue.Open(m.DB, jobqueue.Options{Logger: m.Logger.Named("jobqueue")}); err != nil {
		return err
	}
	ropts := m.Config.replicaOptions(m.Logger.Named("replica"), m.Metrics)
	ropts.Quiesce = m.iscsiQuiesce()
	if m.Replica, err = replica.Open(ctx, m.DB, m.Volumes, m.Jobs, ropts); err != nil {
		return err
	}
	m.Provider, err = provider.New(provider.Config{Volumes: m.Volumes, Jobs: m.Jobs, Replica: m.Replica, ISCSI: m.iscsiService(), Logger: m.Logger.Named("provider")})
	if err != nil {
		return err
	}
	m.Jobs.Start()
	return nil
}

// replicaOptions are the replication domain's options from the flags
// (--copy-bandwidth, --mirror-lag, --mirror-scan, --scrub-rate); copies is
// told of the bytes copy jobs write (the daemon's metrics).
func (c *Config) replicaOptions(logger *zap.Logger, copies replica.CopyObserver) replica.Options {
	return replica.Options{Logger: logger, BandwidthLimit: c.CopyBandwidth, MirrorLag: c.MirrorLag,
		MirrorScan: c.MirrorScan, ScrubRate: c.ScrubRate, Copies: copies}
}

// closeDomain stops the jobs at a checkpoint, then closes replica and
// volumes, in reverse order of openDomain; whatever openDomain did not open
// is skipped. The store stays open; Close closes it last.
func (m *Main) closeDomain() error {
	var errs []error
	if m.Jobs != nil {
		errs = append(errs, m.Jobs.Close())
	}
	if m.Replica != nil {
		errs = append(errs, m.Replica.Close())
	}
	errs = append(errs, m.closeISCSI())
	if m.Volumes != nil {
		errs = append(errs, m.Volumes.Close())
	}
	return errors.Join(errs...)
}

// aeadSuites are the TLS 1.2 cipher suites offered without --tls-compat:
// ECDHE key exchange with AES-GCM or ChaCha20-Poly1305, no CBC-SHA1.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsConfig is the HTTPS listener's configuration: TLS 1.2 or later, and in
// TLS 1.2 the AEAD suites only unless compat asks for Go's default list
// (which adds the CBC-SHA1 suites). TLS 1.3 suites are not configurable.
//
// It requests a client certificate without requiring or verifying one
// (tls.RequestClientCert): TLS only proves the client holds the key of the
// certificate it sends. Whether that certificate logs on is decided per
// request against the users file's mappings (wsman/certauth.go: validity,
// client-auth usage, fingerprint or issuer signature plus UPN), so a client
// with an unmapped or expired certificate can still log on with a password,
// and a mapping changed with `replicad user cert` needs no new TLS
// configuration. Verifying in TLS (VerifyClientCertIfGiven) would fail the
// handshake of every client that sends a certificate the mapped issuers did
// not sign, including self-signed ones mapped by fingerprint.
func tlsConfig(cert tls.Certificate, compat bool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert}
	if !compat {
		cfg.CipherSuites = aeadSuites
	}
	return cfg
}

// limit caps the connections of a WS-Management listener (wsman.LimitListener).
func (m *Main) limit(ln net.Listener) net.Listener {
	return wsman.LimitListener(ln, wsman.ConnLimits{
		PerSource: m.Config.MaxConnectionsPerSource,
		Total:     m.Config.MaxConnections,
	}, m.Logger.Named("wsman"))
}

// serve starts one listener and logs the address it bound, which tests that
// listen on port 0 read back.
func (m *Main) serve(ln net.Listener, h http.Handler, scheme string) {
	srv := &http.Server{
		Handler:     h,
		ConnContext: m.Server.ConnContext, // Negotiate logons are bound to the connection (wsman/negotiate.go)
		ConnState:   m.Server.ConnState,   // a closed connection's unfinished handshake stops counting
		// Short before a logon: headers within 5 s; the wsman handler gives a
		// body 10 s until the logon succeeded, then ReadTimeout
		// (wsman.Limits.PreAuthTimeout, ReadTimeout).
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(m.Logger.Named("http")),
	}
	done := make(chan error, 1)
	m.http = append(m.http, srv)
	m.done = append(m.done, done)
	if m.addrs == nil {
		m.addrs = map[string]net.Addr{}
	}
	m.addrs[scheme] = ln.Addr()
	m.Logger.Info("listening", zap.String("scheme", scheme), zap.String("addr", ln.Addr().String()),
		zap.String("url", listenURL(scheme, ln.Addr())))
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
}

// Close stops accepting, lets in-flight requests finish (up to 30 s), stops
// the jobs at a checkpoint and closes the store, in reverse order of Run.
func (m *Main) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, srv := range m.http {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := <-m.done[i]; err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, m.closeDomain())
	m.closeBackup()
	if m.DB != nil {
		if err := m.DB.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.Logger != nil {
		m.Logger.Info("stopped")
		_ = m.Logger.Sync()
	}
	return errors.Join(errs...)
}

// loadUsers reads --users, or DATA/users, creating the latter on first start
// with the user admin and a random password written to DATA/admin-password
// (mode 0600). The password itself is never logged.
func (m *Main) loadUsers() (*users.File, error) {
	if m.Config.UsersFile != "" {
		return users.Load(m.Config.UsersFile)
	}
	path := filepath.Join(m.Config.DataDir, "users")
	if _, err := os.Stat(path); err == nil {
		return users.Load(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("users file: %w", err)
	}
	password, err := users.RandomPassword()
	if err != nil {
		return nil, err
	}
	var f users.File
	if err := f.Set("admin", password); err != nil {
		return nil, err
	}
	pwFile := filepath.Join(m.Config.DataDir, "admin-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write admin password: %w", err)
	}
	if err := f.Save(path); err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(pwFile)
	m.Logger.Info("created the user admin with a random password; read it from the file",
		zap.String("user", "admin"), zap.String("passwordFile", abs), zap.String("usersFile", path))
	return &f, nil
}

func newLogger(format string) (*zap.Logger, error) {
	var cfg zap.Config
	if format == "console" {
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
		if isTerminal(os.Stderr) { // no colour codes in a file or a pipe
			cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
	} else {
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "time"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	cfg.OutputPaths = []string{"stderr"}
	cfg.DisableStacktrace = true
	return cfg.Build()
}

// gcPercent is the GOGC the daemon sets from configured (Config.GCPercent),
// or 0 to leave the runtime's: when nothing is configured, or when the
// GOGC environment variable (env) already chose.
func gcPercent(configured int, env string) int {
	if env != "" {
		return 0
	}
	return configured
}

// replicaStats feeds the replicad_replica_* metrics from the provider.
func (m *Main) replicaStats() (metrics.ReplicaStats, error) {
	st, broken, err := m.Provider.ReplicationIntegrity(context.Background())
	return metrics.ReplicaStats{Broken: broken, Verifications: st.Verifications, VerifyMismatches: st.Mismatches,
		BytesVerified: st.BytesVerified, ScrubPasses: st.ScrubPasses}, err
}
