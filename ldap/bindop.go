package ldap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pkid/pkid/dn"
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
	authz := ""
	if req.Credentials != nil {
		authz = string(req.Credentials)
	}
	if cv, ok := c.s.cfg.Backend.(ChainVerifyingBackend); ok {
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.OperationTimeout)
		defer cancel()
		return cv.BindExternalPresented(ctx, st.PeerCertificates, authz)
	}
	eb, ok := c.s.cfg.Backend.(ExternalBackend)
	if !ok || c.s.cfg.ClientCAs == nil {
		return Identity{}, Errorf(ResultAuthMethodNotSupported, "SASL EXTERNAL is not configured on this server")
	}
	path, err := c.s.verifyClientChain(st)
	if err != nil {
		return Identity{}, err
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
		if err := checkLeaf(leaf, now); err != nil {
			return nil, err
		}
		inter := x509.NewCertPool()
		for _, ic := range st.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		chains, err := leaf.Verify(x509.VerifyOptions{
			Roots: s.cfg.ClientCAs, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return nil, chainError(leaf, err)
		}
		path = chains[0]
	}
	s.chains.put(key, path, now)
	return path, nil
}

// clientCertError is the invalidCredentials answer to a SASL EXTERNAL
// bind refused because of the client's certificate: "certificate serial
// S (SUBJECT) REASON", as package certmap words its refusals.
func clientCertError(leaf *x509.Certificate, format string, args ...any) *Error {
	subject := certSubject(leaf)
	if subject == "" {
		subject = "no subject"
	}
	return Errorf(ResultInvalidCredentials, "certificate serial %s (%s) %s", certSerial(leaf), subject, fmt.Sprintf(format, args...))
}

// certSerial is a certificate's serial in upper-case hex ("00" for zero).
func certSerial(c *x509.Certificate) string {
	if c.SerialNumber == nil || c.SerialNumber.Sign() == 0 {
		return "00"
	}
	return fmt.Sprintf("%X", c.SerialNumber.Bytes())
}

// certSubject is a certificate's subject as RFC 4514 writes it, from the
// DER so that multi-valued RDNs and string types stay as issued.
func certSubject(c *x509.Certificate) string {
	if rdns, err := dn.FromDER(c.RawSubject); err == nil {
		return dn.String(rdns)
	}
	return c.Subject.String()
}

// checkLeaf refuses a client certificate that is outside its validity
// period at now or not meant for client authentication, with a message
// that says so (x509's own errors do not name the certificate).
func checkLeaf(leaf *x509.Certificate, now time.Time) error {
	switch {
	case now.Before(leaf.NotBefore):
		return clientCertError(leaf, "is not yet valid (notBefore %s)", leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return clientCertError(leaf, "has expired (notAfter %s)", leaf.NotAfter.UTC().Format(time.RFC3339))
	case !AllowsClientAuth(leaf):
		return clientCertError(leaf, "lacks clientAuth in extendedKeyUsage; reissue it for client authentication")
	}
	return nil
}

// AllowsClientAuth reports whether c's extendedKeyUsage permits TLS
// client authentication (RFC 5280 section 4.2.1.12): no extendedKeyUsage
// at all, clientAuth or anyExtendedKeyUsage. Package certmap applies the
// same rule to the leaf at its binds.
func AllowsClientAuth(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// chainError turns a path validation failure into invalidCredentials
// that names the certificate and the reason in words.
func chainError(leaf *x509.Certificate, err error) *Error {
	var ua x509.UnknownAuthorityError
	var ie x509.CertificateInvalidError
	switch {
	case bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil:
		return clientCertError(leaf, "is a self-signed certificate, not issued by a trusted CA")
	case errors.As(err, &ua):
		issuer := leaf.Issuer.String()
		if rdns, derr := dn.FromDER(leaf.RawIssuer); derr == nil {
			issuer = dn.String(rdns)
		}
		return clientCertError(leaf, "was not issued by a trusted CA (issuer %s)", issuer)
	case errors.As(err, &ie) && ie.Reason == x509.IncompatibleUsage:
		return clientCertError(leaf, "has a chain whose CA certificates do not allow clientAuth in extendedKeyUsage")
	case errors.As(err, &ie) && ie.Reason == x509.Expired && ie.Cert != nil && ie.Cert != leaf:
		return clientCertError(leaf, "has an issuing CA outside its validity period: %s (notBefore %s, notAfter %s)",
			certSubject(ie.Cert), ie.Cert.NotBefore.UTC().Format(time.RFC3339), ie.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return clientCertError(leaf, "failed verification: %v", err)
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
		attrs = append(attrs, "diagnostic", res.DiagnosticMessage)
	}
	// EXTERNAL names the client's certificate whether the bind succeeded
	// or not: the verified leaf, or else the one the client presented.
	leaf := (*x509.Certificate)(nil)
	if len(id.Chain) > 0 {
		leaf = id.Chain[0]
	} else if st := c.tlsState.Load(); mech == MechanismExternal && st != nil && len(st.PeerCertificates) > 0 {
		leaf = st.PeerCertificates[0]
	}
	if leaf != nil {
		attrs = append(attrs, "serial", certSerial(leaf), "subject", certSubject(leaf))
	}
	if id.Rule != "" {
		attrs = append(attrs, "rule", id.Rule)
	}
	c.s.log.Info("bind", attrs...)
}
