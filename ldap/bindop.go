package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Names of the SASL mechanisms the server implements.
const (
	MechanismSimple   = "SIMPLE"
	MechanismExternal = "EXTERNAL"
)

// bind answers a BindRequest (RFC 4511 §4.2, RFC 4513 §5). The reader
// runs it after abandoning the operations in progress (§4.2.1), so no
// other request of the connection sees a half-changed identity. Whatever
// the outcome the connection is anonymous first: a failed bind leaves it
// so (§4.2.1: "the connection's authentication state is anonymous").
func (c *conn) bind(m *Message, req *BindRequest) {
	start := time.Now()
	c.identity.Store(anonymous)
	mech := MechanismSimple
	var res LDAPResult
	var id Identity
	switch {
	case unsupportedCritical(m) != "":
		res = LDAPResult{ResultCode: ResultUnavailableCriticalExtension, DiagnosticMessage: "critical control " + unsupportedCritical(m) + " is not supported with BindRequest"}
	case req.Version != 3:
		res = LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: fmt.Sprintf("LDAP version %d is not supported; use version 3", req.Version)}
	case req.Method == BindSimple:
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.OperationTimeout)
		var err error
		id, err = c.s.cfg.Backend.Bind(ctx, req.Name, req.Password)
		cancel()
		res = c.bindResult(err)
		if id.DN == "" {
			mech = ""
		}
	case req.Method == BindSASL:
		mech = req.Mechanism
		switch req.Mechanism {
		case MechanismExternal:
			var err error
			id, err = c.bindExternal(req)
			res = c.bindResult(err)
		default:
			res = LDAPResult{ResultCode: ResultAuthMethodNotSupported, DiagnosticMessage: fmt.Sprintf("SASL mechanism %q is not supported; pkid offers EXTERNAL", req.Mechanism)}
		}
	default:
		res = LDAPResult{ResultCode: ResultAuthMethodNotSupported, DiagnosticMessage: "authentication method not supported"}
	}
	if res.ResultCode == ResultSuccess {
		if mech != "" {
			id.Mechanism = mech
		} else {
			id = Identity{}
		}
		c.identity.Store(&id)
	}
	if c.s.log.Enabled(context.Background(), slog.LevelInfo) {
		c.logBind(req, id, mech, res, start)
	}
	c.respond(m.ID, &BindResponse{LDAPResult: res}, nil)
}

func mechName(m string) string {
	if m == "" {
		return "anonymous"
	}
	return m
}

func (c *conn) bindResult(err error) LDAPResult {
	if err == nil {
		return LDAPResult{ResultCode: ResultSuccess}
	}
	var le *Error
	if errors.As(err, &le) {
		return le.Result()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return LDAPResult{ResultCode: ResultUnavailable, DiagnosticMessage: "the bind ran out of time"}
	}
	c.s.log.Warn("LDAP bind failed", "remote", c.remote, "err", err)
	return LDAPResult{ResultCode: ResultOperationsError, DiagnosticMessage: "internal error; see the server log"}
}

// bindExternal is SASL EXTERNAL (RFC 4513 §5.2.3): the identity is the
// one the TLS layer established, here a client certificate whose chain
// must verify against the configured client CAs now (not only at the
// handshake: the bind may come hours later). Revocation and the mapping
// from certificate to entry belong to the backend (ExternalBackend).
func (c *conn) bindExternal(req *BindRequest) (Identity, error) {
	st := c.tlsState.Load()
	if st == nil {
		return Identity{}, Errorf(ResultInappropriateAuthentication, "SASL EXTERNAL needs TLS: connect with ldaps:// or use StartTLS (-ZZ), with a client certificate")
	}
	if len(st.PeerCertificates) == 0 {
		return Identity{}, Errorf(ResultInappropriateAuthentication, "SASL EXTERNAL needs a TLS client certificate, and the client sent none (set LDAPTLS_CERT and LDAPTLS_KEY)")
	}
	eb, ok := c.s.cfg.Backend.(ExternalBackend)
	if !ok || c.s.cfg.ClientCAs == nil {
		return Identity{}, Errorf(ResultAuthMethodNotSupported, "SASL EXTERNAL is not configured on this server")
	}
	path, err := c.s.verifyClientChain(st)
	if err != nil {
		return Identity{}, err
	}
	authz := ""
	if req.Credentials != nil {
		authz = string(req.Credentials)
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.OperationTimeout)
	defer cancel()
	id, err := eb.BindExternal(ctx, path, authz)
	if err != nil {
		return Identity{}, err
	}
	id.Chain = path
	return id, nil
}

// verifyClientChain returns the verified path (leaf first) of the client
// certificate chain of st, valid for clientAuth at the time of the bind.
// A chain seen before comes from the chain cache (its validity periods
// checked again now); otherwise the chain the TLS handshake verified is
// reused when the handshake used the same trust anchors (its validity is
// checked now: the bind may come hours after the handshake, or on a
// resumed session), and any other chain is verified here.
func (s *Server) verifyClientChain(st *tls.ConnectionState) ([]*x509.Certificate, error) {
	now := s.cfg.Now()
	key := chainKey(st.PeerCertificates)
	if path := s.chains.get(key, now); path != nil {
		return path, nil
	}
	leaf := st.PeerCertificates[0]
	var path []*x509.Certificate
	if len(st.VerifiedChains) > 0 && s.cfg.TLS != nil && s.cfg.TLS.ClientCAs == s.cfg.ClientCAs && validAt(st.VerifiedChains[0], now) {
		path = st.VerifiedChains[0]
	} else {
		inter := x509.NewCertPool()
		for _, ic := range st.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		chains, err := leaf.Verify(x509.VerifyOptions{
			Roots: s.cfg.ClientCAs, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return nil, Errorf(ResultInvalidCredentials, "client certificate serial %X (%s) does not verify: %v", leaf.SerialNumber.Bytes(), leaf.Subject, err)
		}
		path = chains[0]
	}
	s.chains.put(key, path, now)
	return path, nil
}

// validAt reports whether every certificate of path is valid at now.
func validAt(path []*x509.Certificate, now time.Time) bool {
	for _, c := range path {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return false
		}
	}
	return true
}

// logBind writes the bind's log line: DN, mechanism, result and, for
// EXTERNAL, the certificate's serial and subject.
func (c *conn) logBind(req *BindRequest, id Identity, mech string, res LDAPResult, start time.Time) {
	attrs := []any{"remote", c.remote, "dn", req.Name, "mech", mechName(mech), "result", res.ResultCode.String(), "dur", time.Since(start)}
	if res.ResultCode == ResultSuccess && id.DN != req.Name {
		attrs = append(attrs, "authz", id.DN)
	}
	if res.ResultCode != ResultSuccess && res.DiagnosticMessage != "" {
		attrs = append(attrs, "msg", res.DiagnosticMessage)
	}
	if len(id.Chain) > 0 {
		attrs = append(attrs, "serial", fmt.Sprintf("%X", id.Chain[0].SerialNumber.Bytes()), "subject", id.Chain[0].Subject.String())
	}
	if id.Rule != "" {
		attrs = append(attrs, "rule", id.Rule)
	}
	c.s.log.Info("bind", attrs...)
}
