// Command replicactl manages replicad (or any WS-Management CIM server with
// the same classes) from the command line: generic Identify, Get, Enumerate,
// Invoke and Delete, and task commands for volumes, replication groups,
// replicas and jobs.
//
// Connection: --url (REPLICAD_URL, default http://127.0.0.1:5985/wsman),
// --user (REPLICAD_USER, default admin), --password (REPLICAD_PASSWORD),
// --auth basic|negotiate|kerberos|certificate (REPLICAD_AUTH), --ca-file,
// --insecure for self-signed TLS certificates, --cert-file and --key-file
// for certificate logons, --spn for Kerberos. Output is an aligned table,
// or JSON with --output json. Errors print one line on stderr and exit 1;
// usage errors exit 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/replicad/replicad/client"
)

// defaultNamespace is the iSCSI target's CIM namespace.
const defaultNamespace = "root/cimv2/storage/iscsitarget"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// app is one invocation: connection settings, output and the client.
type app struct {
	url, user, password string
	insecure            bool
	auth, caFile        string
	certFile, keyFile   string
	spn                 string
	output              string
	namespace           string
	timeout             time.Duration

	stdout, stderr io.Writer
	// tty is true when stderr, where progress goes, is a terminal.
	tty bool
	c   *client.Client
}

const usage = `usage: replicactl [flags] COMMAND [args]

Generic commands:
  version (or --version)                    replicactl's version, commit and Go version
  identify
  get PATH                                  e.g. get 'MSISCSITARGET_StoragePool.InstanceID="replicad:pool:default"'
  enumerate CLASS [--filter WQL] [--associated PATH [--assoc-class C] [--result-class C]
            [--role R] [--result-role R] [--references]] [--columns a,b|*]
  invoke CLASS|PATH METHOD [Name=value ...]  values: text, ref:PATH for references,
                                            @null for NULL; repeat a name for arrays
  delete PATH

Task commands:
  volume create NAME --size SIZE [--pool POOL] | volume list | volume delete NAME
  group create NAME [VOLUME ...] | group add GROUP VOLUME... | group remove GROUP VOLUME...
  group delete GROUP [--force] | group list
  replica create (--source VOLUME | --source-group GROUP) --type mirror|snapshot|clone
                 [--count N] [--name NAME] [--target-group GROUP] [--wait]
  replica list | replica modify SYNC OPERATION [--force] [--wait]
                 (OPERATION: detach, dissolve, return-to-pool, fracture, split, resync,
                  restore, abort, activate, deactivate, suspend, resume, failover, failback or a number)
  replica verify SYNC [--max N]             compare replica and source: prints "identical" or the
                                            first differing offsets; exit 0 identical, 1 differs, 2 error
  job list | job show ID | job cancel ID | job wait ID
  target list | target create NAME [--initiator IQN]... | target delete NAME
  expose VOLUME... [--target T] [--initiator IQN]... [--read-only] [--lun N]...
                                            map volumes into target T (a new one without --target)
                                            and allow initiators to log in to it
  hide [VOLUME...] --target T [--initiator IQN]...

Flags (anywhere on the line):
  --url URL          endpoint (REPLICAD_URL; default http://127.0.0.1:5985/wsman)
  --user NAME        user (REPLICAD_USER; default admin)
  --password PW      password (REPLICAD_PASSWORD)
  --auth METHOD      basic (default), negotiate (NTLM; seals every message over http://),
                     kerberos (ticket from the credential cache, KRB5CCNAME: run kinit; sealed over http://)
                     or certificate (--cert-file and --key-file; https://) (REPLICAD_AUTH)
  --ca-file FILE     verify the server's TLS certificate against the CA certificates in FILE
  --insecure         do not verify the server's TLS certificate
  --cert-file FILE   client certificate (PEM) for --auth certificate
  --key-file FILE    its private key (PEM)
  --spn NAME         Kerberos service principal (default HTTP/host of --url)
  --output FORMAT    table (default), json or yaml: one record per object, lists sorted
  --namespace NS     CIM namespace (default root/cimv2/storage/iscsitarget)
  --timeout D        operation timeout (default 60s)
`

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, namespace: defaultNamespace, output: "table", timeout: client.DefaultTimeout}
	a.url = envOr(getenv, "REPLICAD_URL", "http://127.0.0.1:5985/wsman")
	a.user = envOr(getenv, "REPLICAD_USER", "admin")
	a.password = getenv("REPLICAD_PASSWORD")
	a.auth = envOr(getenv, "REPLICAD_AUTH", string(client.AuthBasic))
	// Progress goes to stderr; draw a bar only when that is a terminal.
	if f, ok := stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			a.tty = true
		}
	}
	err := a.dispatch(ctx, args)
	if err == nil {
		return 0
	}
	var es *exitStatus // replica verify's 0/1/2
	if errors.As(err, &es) {
		if es.msg != "" {
			fmt.Fprintf(stderr, "replicactl: %s\n", es.msg)
		}
		return es.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.msg == "" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "replicactl: %s (see replicactl help)\n", oneLine(ue.msg))
		return 2
	}
	fmt.Fprintf(stderr, "replicactl: %s\n", a.describe(err))
	return 1
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// describe turns err into the one line a user reads.
func (a *app) describe(err error) string {
	var f *client.Fault
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		switch client.Auth(strings.ToLower(a.auth)) {
		case client.AuthKerberos:
			return fmt.Sprintf("Kerberos logon refused at %s: check the ticket (klist), --spn, and that the principal's name is a replicad user", a.url)
		case client.AuthCertificate:
			return fmt.Sprintf("certificate logon refused at %s: check that the certificate is valid for client authentication and mapped to a user (replicad user cert)", a.url)
		}
		return fmt.Sprintf("authentication failed for user %q at %s: check --user and --password (REPLICAD_USER, REPLICAD_PASSWORD)", a.user, a.url)
	case errors.Is(err, client.ErrCertificate):
		detail := strings.TrimPrefix(err.Error(), client.ErrCertificate.Error()+": ")
		detail = strings.TrimPrefix(detail, a.url+": ")
		return fmt.Sprintf("cannot verify the TLS certificate of %s: %s (give its CA certificate with --ca-file FILE, or skip the check with --insecure)", a.url, oneLine(detail))
	case errors.Is(err, client.ErrUnreachable):
		detail := strings.TrimPrefix(err.Error(), client.ErrUnreachable.Error()+": ")
		detail = strings.TrimPrefix(detail, a.url+": ")
		return fmt.Sprintf("cannot reach %s: %s", a.url, oneLine(detail))
	case errors.As(err, &f):
		text := f.Message
		if text == "" {
			text = f.Reason
		}
		if f.Subcode != "" {
			return fmt.Sprintf("server refused the request (%s): %s", f.Subcode, oneLine(text))
		}
		return "server refused the request: " + oneLine(text)
	}
	return oneLine(err.Error())
}

// oneLine folds white space runs (newlines included) into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// flags returns a flag set with the connection and output flags bound to a.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.url, "url", a.url, "")
	fs.StringVar(&a.user, "user", a.user, "")
	fs.StringVar(&a.password, "password", a.password, "")
	fs.BoolVar(&a.insecure, "insecure", a.insecure, "")
	fs.StringVar(&a.auth, "auth", a.auth, "")
	fs.StringVar(&a.caFile, "ca-file", a.caFile, "")
	fs.StringVar(&a.certFile, "cert-file", a.certFile, "")
	fs.StringVar(&a.keyFile, "key-file", a.keyFile, "")
	fs.StringVar(&a.spn, "spn", a.spn, "")
	fs.StringVar(&a.output, "output", a.output, "")
	fs.StringVar(&a.namespace, "namespace", a.namespace, "")
	fs.DurationVar(&a.timeout, "timeout", a.timeout, "")
	return fs
}

// parse parses args with fs, allowing flags after positional arguments, and
// returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &usageError{}
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// connect checks the global settings and builds the client.
func (a *app) connect() error {
	if a.output != "table" && a.output != "json" && a.output != "yaml" {
		return usagef("--output must be table, json or yaml, not %q", a.output)
	}
	if !strings.HasPrefix(a.url, "http://") && !strings.HasPrefix(a.url, "https://") {
		return usagef("--url must start with http:// or https://, not %q", a.url)
	}
	if a.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	auth, err := client.ParseAuth(a.auth)
	if err != nil {
		return usagef("--auth must be basic, negotiate, kerberos or certificate, not %q", a.auth)
	}
	user, password := a.user, a.password
	if auth == client.AuthKerberos || auth == client.AuthCertificate {
		user, password = "", "" // the ticket or the certificate names the user
	}
	a.c, err = client.Open(a.url, user, password, client.Options{Auth: auth, Insecure: a.insecure, CAFile: a.caFile,
		CertFile: a.certFile, KeyFile: a.keyFile, SPN: a.spn, Timeout: a.timeout})
	return err
}

// dispatch runs the command named by the first positional argument.
func (a *app) dispatch(ctx context.Context, args []string) error {
	for _, arg := range args {
		if arg == "--version" || arg == "-version" {
			fmt.Fprintln(a.stdout, versionLine("replicactl"))
			return nil
		}
	}
	// Global flags may come first; the rest is parsed by the command.
	fs := a.flags("replicactl")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &usageError{}
		}
		return usagef("%v", err)
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		return &usageError{}
	case "version":
		fmt.Fprintln(a.stdout, versionLine("replicactl"))
		return nil
	case "identify":
		return a.identify(ctx, rest)
	case "get":
		return a.get(ctx, rest)
	case "enumerate", "enum":
		return a.enumerate(ctx, rest)
	case "invoke":
		return a.invoke(ctx, rest)
	case "delete":
		return a.deleteCmd(ctx, rest)
	case "volume", "volumes":
		return a.volume(ctx, rest)
	case "group", "groups":
		return a.group(ctx, rest)
	case "replica", "replicas":
		return a.replica(ctx, rest)
	case "job", "jobs":
		return a.job(ctx, rest)
	case "target", "targets":
		return a.targetCmd(ctx, rest)
	case "expose":
		return a.expose(ctx, rest)
	case "hide":
		return a.hide(ctx, rest)
	}
	return usagef("unknown command %q", cmd)
}

// sub splits "NOUN [flags] VERB args" into the verb and its arguments;
// connection and output flags may stand before the verb.
func (a *app) sub(noun string, args []string, verbs ...string) (string, []string, error) {
	fs := a.flags(noun)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil, &usageError{} // NOUN --help: the usage, status 0
		}
		return "", nil, usagef("%s: %v", noun, err)
	}
	args = fs.Args()
	if len(args) == 0 {
		return "", nil, usagef("%s needs one of: %s", noun, strings.Join(verbs, ", "))
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, usagef("unknown %s command %q (want one of: %s)", noun, args[0], strings.Join(verbs, ", "))
}
