package wsman

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/replicad/replicad/ntlm"
	"github.com/replicad/replicad/spnego"
)

// Connection-bound logons. Negotiate (NTLM or Kerberos, raw or inside
// SPNEGO) authenticates the TCP connection, not the request: the handshake
// spans several requests on one connection, and later requests on it carry
// no Authorization header. Each connection's state hangs off its context
// (Server.ConnContext), so it goes away with the connection.

// connKey is the context key of a *connState.
type connKey struct{}

// connState is what one TCP connection has established.
type connState struct {
	mu sync.Mutex
	// The pending handshake, if any.
	pending      *ntlm.Server
	pendingSince time.Time
	wrapped      bool   // the client speaks SPNEGO around NTLM
	mechTypes    []byte // DER MechTypeList, covered by the mechListMIC
	// ticket is the failed-logon limiter's ticket the NEGOTIATE leg took,
	// which the next leg settles (limiter.go).
	ticket *ticket
	conn   net.Conn // the connection, whose close returns the ticket
	// The established logon, if any.
	user        string
	scheme      string
	session     sealer // nil for Basic and for unsealed Kerberos
	established time.Time
	lastUsed    time.Time
	// reply is the WWW-Authenticate value owed with the first reply after
	// the logon (the final SPNEGO token), "" when none.
	reply string
}

// ConnContext is http.Server.ConnContext for this server: it gives each
// connection the state that Negotiate logons need. Without it only Basic
// authentication works.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connState{conn: c})
}

// ConnState is http.Server.ConnState for this server: when a connection
// closes with a handshake unfinished, its failed-logon limiter ticket is
// given back at once rather than when it expires (limiter.go), so that
// NEGOTIATE legs count while they are open and no longer. Wire it beside
// ConnContext: without it a ticket lasts until Auth.HandshakeTimeout, and
// the server keeps a small entry for every connection that closed with a
// handshake unfinished.
func (s *Server) ConnState(c net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	if v, ok := s.authState.handshakes.LoadAndDelete(c); ok {
		v.(*connState).takeTicket().settle(false)
	}
}

func connFrom(r *http.Request) *connState {
	cs, _ := r.Context().Value(connKey{}).(*connState)
	return cs
}

// current returns the connection's logon if it has not expired.
func (cs *connState) current(now time.Time, idle, lifetime time.Duration) (string, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.user == "" {
		return "", errNoCredentials
	}
	if now.Sub(cs.lastUsed) > idle || now.Sub(cs.established) > lifetime {
		cs.user, cs.session = "", nil
		return "", errSessionExpired
	}
	cs.lastUsed = now
	return cs.user, nil
}

func (cs *connState) sealer() sealer {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.session
}

// drop forgets the logon, after a message that failed to unseal.
func (cs *connState) drop() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.user, cs.session, cs.pending = "", nil, nil
}

// takeTicket returns and clears the limiter ticket of the handshake in
// progress, nil when none (or when cs is nil).
func (cs *connState) takeTicket() *ticket {
	if cs == nil {
		return nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	t := cs.ticket
	cs.ticket = nil
	return t
}

// keepTicket holds t on cs for the next leg of the handshake, until the
// connection closes (ConnState).
func (s *Server) keepTicket(cs *connState, t *ticket) {
	if cs == nil {
		t.settle(false)
		return
	}
	cs.mu.Lock()
	cs.ticket = t
	cs.mu.Unlock()
	if cs.conn != nil {
		s.authState.handshakes.Store(cs.conn, cs)
	}
}

// takeReply returns and clears the WWW-Authenticate value owed.
func (cs *connState) takeReply() string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	v := cs.reply
	cs.reply = ""
	return v
}

// continueAuth is returned by authenticate for a handshake leg that needs
// another round: it is answered 401 with the token, and is no failure.
type continueAuth struct {
	header string // WWW-Authenticate value
}

func (c *continueAuth) Error() string { return "wsman: authentication continues" }

// Errors of the Negotiate handshake; like the others they reach the client
// only as a 401.
var (
	errBadToken       = errors.New("wsman: malformed Negotiate token")
	errNoConnState    = errors.New("wsman: Negotiate needs Server.ConnContext on the http.Server")
	errSessionExpired = errors.New("wsman: logon session expired")
	errNoHandshake    = errors.New("wsman: no Negotiate handshake in progress on this connection")
	errHandshakeStale = errors.New("wsman: Negotiate handshake took too long")
	errMechanism      = errors.New("wsman: no supported mechanism offered")
)

// negotiate runs one leg of a Negotiate, NTLM or Kerberos handshake.
func (s *Server) negotiate(r *http.Request, cs *connState, scheme, encoded string) (string, error) {
	if cs == nil {
		return "", errNoConnState
	}
	token, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(token) == 0 {
		return "", fmt.Errorf("%w: %v", errBadToken, err)
	}
	switch {
	case bytes.HasPrefix(token, []byte("NTLMSSP\x00")):
		return s.ntlmLeg(r, cs, scheme, token, nil)
	case spnego.IsInit(token):
		if s.kerberosToken(token) {
			return s.kerberos(r, cs, scheme, token, false)
		}
		init, err := spnego.ParseInit(token)
		if err != nil {
			return "", fmt.Errorf("%w: %w", errBadToken, err)
		}
		if len(init.MechTypes) > 0 && (init.MechTypes[0].Equal(spnego.OIDKerberos) || init.MechTypes[0].Equal(spnego.OIDKerberosMSFT)) &&
			len(init.MechToken) > 0 && !bytes.HasPrefix(init.MechToken, []byte("NTLMSSP\x00")) {
			return s.kerberos(r, cs, scheme, init.MechToken, true)
		}
		if !init.HasMech(spnego.OIDNTLM) || !bytes.HasPrefix(init.MechToken, []byte("NTLMSSP\x00")) {
			return "", errMechanism
		}
		return s.ntlmLeg(r, cs, scheme, init.MechToken, init)
	case spnego.IsResp(token):
		resp, err := spnego.ParseResp(token)
		if err != nil {
			return "", fmt.Errorf("%w: %w", errBadToken, err)
		}
		if !bytes.HasPrefix(resp.ResponseToken, []byte("NTLMSSP\x00")) {
			return "", errMechanism
		}
		return s.ntlmFinish(r, cs, scheme, resp.ResponseToken, resp.MechListMIC)
	}
	return "", errBadToken
}

// ntlmLeg answers an NTLM NEGOTIATE (raw, or inside the SPNEGO init) or
// finishes with an AUTHENTICATE.
func (s *Server) ntlmLeg(r *http.Request, cs *connState, scheme string, msg []byte, init *spnego.Init) (string, error) {
	typ, err := ntlm.MessageType(msg)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadToken, err)
	}
	if typ == ntlm.TypeAuthenticate && init == nil {
		return s.ntlmFinish(r, cs, scheme, msg, nil)
	}
	if typ != ntlm.TypeNegotiate {
		return "", fmt.Errorf("%w: NTLM message type %d", errBadToken, typ)
	}
	srv := ntlm.NewServer(s.Auth.NTLM)
	challenge, err := srv.Challenge(msg)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadToken, err)
	}
	out := challenge
	if init != nil {
		out = (&spnego.Resp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLM, ResponseToken: challenge}).Marshal()
	}
	cs.mu.Lock()
	cs.pending, cs.pendingSince, cs.wrapped = srv, s.Now(), init != nil
	cs.mechTypes = nil
	if init != nil {
		cs.mechTypes = init.MechTypesDER
	}
	cs.mu.Unlock()
	return "", &continueAuth{header: scheme + " " + base64.StdEncoding.EncodeToString(out)}
}

// ntlmFinish verifies the AUTHENTICATE message, and over HTTPS its channel
// binding (channelbinding.go), and binds the session to the connection.
func (s *Server) ntlmFinish(r *http.Request, cs *connState, scheme string, msg, mechListMIC []byte) (string, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	srv, since, wrapped, mechTypes := cs.pending, cs.pendingSince, cs.wrapped, cs.mechTypes
	cs.pending = nil
	if srv == nil {
		return "", errNoHandshake
	}
	if s.Now().Sub(since) > s.Auth.HandshakeTimeout {
		return "", errHandshakeStale
	}
	user := ""
	if m, err := ntlm.ParseAuthenticate(msg); err == nil {
		user = m.User
	}
	// NTLM user names are case-insensitive (NTOWFv2 upper-cases them), so
	// "Admin" logs on as admin; the users file's spelling is the one used.
	canonical := ""
	sess, err := srv.Authenticate(msg, func(name, domain string) ([]byte, error) {
		if s.users == nil {
			return nil, errBadCredentials
		}
		canonical = name
		if !s.users.Has(name) {
			for _, n := range s.users.Names() {
				if strings.EqualFold(n, name) {
					canonical = n
					break
				}
			}
		}
		return s.users.NTHash(canonical)
	})
	if err != nil {
		return user, fmt.Errorf("%w: %w", errBadCredentials, err)
	}
	if err := s.checkNTLMBinding(r, sess.ChannelBindings); err != nil {
		return user, fmt.Errorf("%w: %w", errBadCredentials, err)
	}
	reply := ""
	if wrapped {
		final := &spnego.Resp{NegState: spnego.AcceptCompleted}
		if mechListMIC != nil {
			// MS-SPNG 3.3.5.1: check the client's MIC over the mechanism list,
			// answer with ours; the RC4 streams restart after each.
			if err := sess.Verify(mechTypes, mechListMIC); err != nil {
				return user, fmt.Errorf("%w: mechListMIC: %w", errBadCredentials, err)
			}
			sess.ResetCipher(false)
			mic, err := sess.Sign(mechTypes)
			if err != nil {
				return user, fmt.Errorf("%w: %w", errBadCredentials, err)
			}
			sess.ResetCipher(true)
			final.MechListMIC = mic
		}
		reply = scheme + " " + base64.StdEncoding.EncodeToString(final.Marshal())
	}
	now := s.Now()
	cs.user, cs.scheme, cs.session = canonical, scheme, sess
	cs.established, cs.lastUsed, cs.reply = now, now, reply
	return canonical, nil
}
