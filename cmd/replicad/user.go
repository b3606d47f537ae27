package main

import (
	"bufio"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/replicad/replicad/users"
)

const userUsage = `usage: replicad user add|passwd|del|role|list|cert [flags] [NAME [ROLE|FILE]]

  add NAME      add a user (--role admin|reader, default admin)
  passwd NAME   set a user's password (keeps the role)
  del NAME      remove a user
  role NAME R   set a user's role to admin or reader
  list          list users and roles
  cert NAME FILE
                map the client certificate in FILE (PEM) to NAME for
                certificate logons over HTTPS; with --upn UPN, FILE is
                instead an issuing CA's certificate, and every certificate
                it issued whose subjectAltName holds UPN maps to NAME
  cert NAME --remove
                remove NAME's certificate mappings

The password is read from the terminal (twice), or from the first line of
standard input with --password-stdin; one shorter than 12 characters is
refused unless --force is given. The users file is --users, or
DATA/users under --data-dir. A running daemon reads the file at start: restart
it for changes to apply.
`

// runUser is `replicad user ...`; it returns the exit status.
func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	verb := args[0]
	if verb == "-h" || verb == "-help" || verb == "--help" || verb == "help" {
		fmt.Fprint(stdout, userUsage)
		return 0
	}
	fs := flag.NewFlagSet("replicad user "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := DefaultConfig()
	usersFile := fs.String("users", "", "users file (default DATA/users)")
	dataDir := fs.String("data-dir", def.DataDir, "data folder holding the users file")
	roleFlag := fs.String("role", string(users.RoleAdmin), "role of a new user: admin or reader")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	force := fs.Bool("force", false, fmt.Sprintf("add, passwd: accept a password shorter than %d characters", minPasswordLength))
	upn := fs.String("upn", "", "cert: map certificates issued by FILE (a CA certificate) with this user principal name in their subjectAltName")
	remove := fs.Bool("remove", false, "cert: remove the user's certificate mappings")
	// Flags may come before or after the name.
	var positional []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	path := *usersFile
	if path == "" {
		path = filepath.Join(*dataDir, "users")
	}
	var err error
	if verb == "cert" {
		err = certCommand(positional, path, *upn, *remove, stdout)
	} else {
		err = userCommand(verb, positional, path, users.Role(*roleFlag), *passwordStdin, *force, stdin, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "replicad user:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, userUsage)
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("bad usage")

// minPasswordLength is the shortest password, in characters, that add and
// passwd accept without --force: NTLM and Basic passwords can be guessed
// online, and the failed-logon limiter only slows the guessing down.
const minPasswordLength = 12

// errShortPassword is returned for a password below minPasswordLength.
var errShortPassword = fmt.Errorf("password shorter than %d characters (use --force to set it anyway)", minPasswordLength)

func userCommand(verb string, args []string, path string, role users.Role, passwordStdin, force bool, stdin io.Reader, stdout io.Writer) error {
	want := map[string]int{"add": 1, "passwd": 1, "del": 1, "role": 2, "list": 0}
	n, ok := want[verb]
	if !ok || len(args) != n {
		return fmt.Errorf("%w: %s with %d arguments", errUsage, verb, len(args))
	}
	f, err := users.Load(path)
	if errors.Is(err, os.ErrNotExist) && verb == "add" {
		f, err = &users.File{}, nil
	}
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		for _, name := range f.Names() {
			r, _ := f.Role(name)
			nt := "ntlm"
			if _, err := f.NTHash(name); err != nil {
				nt = "basic-only"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", name, r, nt)
			for _, c := range f.Certificates(name) {
				fmt.Fprintf(stdout, "\tcertificate %s\n", c)
			}
		}
		return nil
	case "del":
		if err := f.Delete(args[0]); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
	case "role":
		r, err := users.ParseRole(args[1])
		if err != nil {
			return err
		}
		if err := f.SetRole(args[0], r); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
	case "add", "passwd":
		name := args[0]
		if err := users.ValidateName(name); err != nil {
			return fmt.Errorf("%q: %w", name, err)
		}
		if verb == "add" && f.Has(name) {
			return fmt.Errorf("%s: %w", name, users.ErrUserExists)
		}
		if verb == "passwd" && !f.Has(name) {
			return fmt.Errorf("%s: %w", name, users.ErrUnknownUser)
		}
		r, err := users.ParseRole(string(role))
		if err != nil {
			return err
		}
		password, err := readPassword(stdin, passwordStdin)
		if err != nil {
			return err
		}
		if n := utf8.RuneCountInString(password); n < minPasswordLength && !force {
			return fmt.Errorf("%s: %w", name, errShortPassword)
		}
		if err := f.Set(name, password); err != nil {
			return err
		}
		if verb == "add" {
			if err := f.SetRole(name, r); err != nil {
				return err
			}
		}
	}
	if err := f.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: saved (restart replicad for the change to apply)\n", path)
	return nil
}

// readPassword reads a password from the first line of stdin, or prompts
// twice on the terminal with echo off.
func readPassword(stdin io.Reader, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("empty password")
		}
		return pw, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("no terminal to prompt on (use --password-stdin): %w", err)
	}
	defer tty.Close()
	first, err := promptNoEcho(tty, "Password: ")
	if err != nil {
		return "", err
	}
	second, err := promptNoEcho(tty, "Again: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the passwords differ")
	}
	if first == "" {
		return "", errors.New("empty password")
	}
	return first, nil
}

func promptNoEcho(tty *os.File, prompt string) (string, error) {
	fd := int(tty.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprint(tty, prompt)
	line, err := bufio.NewReader(tty).ReadString('\n')
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// certCommand is `replicad user cert NAME FILE [--upn UPN]` and
// `replicad user cert NAME --remove`.
func certCommand(args []string, path, upn string, remove bool, stdout io.Writer) error {
	if (remove && len(args) != 1) || (!remove && len(args) != 2) {
		return fmt.Errorf("%w: cert NAME FILE, or cert NAME --remove", errUsage)
	}
	f, err := users.Load(path)
	if err != nil {
		return err
	}
	name := args[0]
	if remove {
		n, err := f.RemoveCertificates(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(stdout, "%s: removed %d certificate mappings\n", name, n)
	} else {
		cert, err := readCertificate(args[1])
		if err != nil {
			return err
		}
		if upn != "" {
			err = f.MapIssuer(name, cert, upn)
		} else if err = f.MapCertificate(name, cert); errors.Is(err, users.ErrCertNotClientAuth) && cert.IsCA {
			return fmt.Errorf("%s: %s is a CA certificate: give --upn UPN to map the certificates it issued with that UPN", name, args[1])
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, args[1], err)
		}
	}
	if err := f.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: saved (restart replicad for the change to apply)\n", path)
	return nil
}

// readCertificate reads the first certificate of a PEM file.
func readCertificate(file string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	for {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		if block == nil {
			return nil, fmt.Errorf("certificate: %s: no PEM CERTIFICATE block", file)
		}
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate: %s: %w", file, err)
			}
			return cert, nil
		}
	}
}
