package iscsi

import (
	"fmt"
	"os"
	"strings"
)

// MaxNameLen is the longest target name accepted, in bytes.
const MaxNameLen = 64

// maxIQNLen is RFC 3720's limit on an iSCSI name, in bytes.
const maxIQNLen = 223

// CheckTargetName reports whether name may name a target: 1..MaxNameLen
// bytes of lower-case ASCII letters, digits, '-' and '.', not starting with
// '-' or '.' (so the IQN BaseIQN:name is a valid iSCSI name and never looks
// like an option to tgtadm). The error wraps ErrInvalid.
func CheckTargetName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: target name %q: length not in 1..%d", ErrInvalid, name, MaxNameLen)
	}
	if name[0] == '-' || name[0] == '.' {
		return fmt.Errorf("%w: target name %q must not start with '-' or '.'", ErrInvalid, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%w: target name %q: character %q not allowed (lower-case letters, digits, '-', '.')", ErrInvalid, name, c)
		}
	}
	return nil
}

// CheckIQN reports whether s is an iSCSI name tgt and replicad accept as an
// initiator or base name: "iqn.", "eui." or "naa." followed by lower-case
// ASCII letters, digits, '-', '.' and ':' (RFC 3720 names after stringprep,
// restricted to ASCII), at most 223 bytes. Commas, '=', spaces and upper
// case are refused. The error wraps ErrInvalid.
func CheckIQN(s string) error {
	if len(s) < 5 || len(s) > maxIQNLen {
		return fmt.Errorf("%w: iSCSI name %q: length not in 5..%d", ErrInvalid, s, maxIQNLen)
	}
	if !strings.HasPrefix(s, "iqn.") && !strings.HasPrefix(s, "eui.") && !strings.HasPrefix(s, "naa.") {
		return fmt.Errorf("%w: iSCSI name %q must start with iqn., eui. or naa.", ErrInvalid, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':') {
			return fmt.Errorf("%w: iSCSI name %q: character %q not allowed", ErrInvalid, s, c)
		}
	}
	return nil
}

// checkCHAP checks a CHAP credential: a user of 1..64 and a secret of
// 12..16 bytes (RFC 3720's advice, and Windows' limits) of printable ASCII
// without spaces or commas.
func checkCHAP(c *CHAP) error {
	if c == nil {
		return nil
	}
	ok := func(s string, lo, hi int) bool {
		if len(s) < lo || len(s) > hi || s[0] == '-' {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] > '~' || s[i] == ',' {
				return false
			}
		}
		return true
	}
	if !ok(c.User, 1, 64) {
		return fmt.Errorf("%w: CHAP user %q: 1..64 printable characters, no spaces or commas", ErrInvalid, c.User)
	}
	if !ok(c.Secret, 12, 16) {
		return fmt.Errorf("%w: CHAP secret: 12..16 printable characters, no spaces or commas", ErrInvalid)
	}
	return nil
}

// DefaultBaseIQN is the base IQN when Options.BaseIQN is "" on first start:
// "iqn.2026-12." followed by this host's name reversed (host.example.com →
// com.example.host), lower-cased, other characters dropped. Open records the
// base IQN in the store so that target IQNs stay the same when the host is
// renamed.
func DefaultBaseIQN() string {
	host, _ := os.Hostname()
	parts := strings.Split(strings.ToLower(host), ".")
	var rev []string
	for i := len(parts) - 1; i >= 0; i-- {
		p := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return -1
		}, parts[i])
		if p != "" {
			rev = append(rev, p)
		}
	}
	if len(rev) == 0 {
		rev = []string{"localhost"}
	}
	return "iqn.2026-12." + strings.Join(rev, ".")
}
