package ldap

import (
	"bufio"
	"context"
	"crypto/tls"
	"time"
)

// extended answers the extended operations other than StartTLS (RFC 4511
// §4.12): WhoAmI (RFC 4532) and Password Modify (RFC 3062).
func (c *conn) extended(ctx context.Context, o *operation, id Identity, req *ExtendedRequest) Op {
	switch req.Name {
	case OIDWhoAmI:
		if req.Value != nil {
			return &ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: "WhoAmI takes no request value"}}
		}
		// RFC 4532 §2.2: the response carries no responseName.
		return &ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultSuccess}, Value: []byte(id.AuthzID())}
	case OIDPasswordModify:
		pm, err := DecodePasswordModifyRequest(req.Value)
		if err != nil {
			return &ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: "malformed Password Modify request: " + err.Error()}}
		}
		user := string(pm.UserIdentity)
		if len(user) > 3 && (user[:3] == "dn:" || user[:3] == "DN:") {
			user = user[3:]
		}
		gen, err := c.s.cfg.Backend.PasswordModify(ctx, id, user, pm.OldPassword, pm.NewPassword)
		res := c.result(ctx, o, err)
		if err != nil {
			return &ExtendedResponse{LDAPResult: res}
		}
		return &ExtendedResponse{LDAPResult: res, Value: (&PasswordModifyResponse{GenPassword: gen}).Encode()}
	case OIDStartTLS:
		// Handled by the reader; here only when reached another way.
		return &ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultOperationsError, DiagnosticMessage: "StartTLS must be the only operation in progress"}}
	}
	return &ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: "unsupported extended operation " + req.Name}}
}

// startTLS answers StartTLS (RFC 4511 §4.14, RFC 4513 §3) and, on
// success, runs the TLS handshake on the connection. It returns the
// reader to use from now on, and false when the connection must close.
func (c *conn) startTLS(m *Message, rd *bufio.Reader) (*bufio.Reader, bool) {
	fail := func(code ResultCode, msg string) (*bufio.Reader, bool) {
		c.s.log.Info("StartTLS refused", "remote", c.remote, "result", code.String(), "diagnostic", msg)
		err := c.respond(m.ID, &ExtendedResponse{LDAPResult: LDAPResult{ResultCode: code, DiagnosticMessage: msg}, Name: OIDStartTLS}, nil)
		return rd, err == nil
	}
	switch {
	case c.s.cfg.TLS == nil:
		return fail(ResultUnavailable, "TLS is not configured on this server")
	case c.tlsState.Load() != nil:
		return fail(ResultOperationsError, "TLS is already established on this connection")
	case c.busy():
		return fail(ResultOperationsError, "StartTLS must be the only operation in progress; wait for the others to complete")
	case rd.Buffered() > 0:
		// A client must wait for the response before starting TLS.
		c.disconnect(ResultProtocolError, "data received after StartTLS before its response")
		return nil, false
	case unsupportedCritical(m) != "":
		return fail(ResultUnavailableCriticalExtension, "critical control "+unsupportedCritical(m)+" is not supported with StartTLS")
	}
	if err := c.respond(m.ID, &ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultSuccess}, Name: OIDStartTLS}, nil); err != nil {
		return nil, false
	}
	c.wmu.Lock()
	tc := tls.Server(c.s.tlsConn(c.raw), c.s.cfg.TLS)
	c.nc = tc
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.ReadTimeout)
	c.raw.SetDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
	err := tc.HandshakeContext(ctx)
	cancel()
	c.wmu.Unlock()
	if err != nil {
		c.s.log.Info("StartTLS handshake", "remote", c.remote, "err", err)
		c.close()
		return nil, false
	}
	st := tc.ConnectionState()
	c.tlsState.Store(&st)
	// RFC 4513 §3.1.3 leaves the bind state alone; keeping it is what
	// slapd does too.
	return bufio.NewReaderSize(tc, readBufferSize), true
}
