package certmap

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/ldap"
)

// Backend is the LDAP frontend's backend with certmap's EXTERNAL bind: it
// serves everything through the embedded directory.LDAPBackend and adds
// the EXTERNAL bind. pkid serve plugs it in with
//
//	backend := &certmap.Backend{LDAPBackend: &directory.LDAPBackend{Tree: tree}, Mapper: m, Logger: log}
//
// It is an ldap.ChainVerifyingBackend, which the frontend prefers: with the TLS listeners set to
// tls.RequestClientCert, the frontend hands over the chain as presented
// and Mapper verifies it at the bind (BindExternalPresented), against
// pkid's CAs as the store lists them now plus Config.Roots, so that an
// expired, untrusted or wrong-purpose certificate gets invalidCredentials
// with the reason. Repeat logins with the same chain reuse the verified
// path (see chainCache); revocation is checked at every bind (see
// revCache).
type Backend struct {
	*directory.LDAPBackend
	Mapper *Mapper
	// Logger receives the mapping's log line (LogBind, message "bind"
	// with the rule used); nil logs nothing here, leaving the frontend's
	// own bind line.
	Logger *slog.Logger
}

// BindExternal implements ldap.ExternalBackend with Mapper.AuthenticatePath
// (the frontend hands over the path it validated):
// a refused certificate or authorization identity is invalidCredentials
// whose message names the serial and the reason.
func (b *Backend) BindExternal(ctx context.Context, chain []*x509.Certificate, authzID string) (ldap.Identity, error) {
	res, err := b.Mapper.AuthenticatePath(ctx, chain, authzID)
	return b.result(ctx, res, err)
}

// BindExternalPresented implements ldap.ChainVerifyingBackend with
// Mapper.Authenticate on the chain as the client presented it: the
// whole of Verify (path validation to the Mapper's trust anchors,
// clientAuth, validity, revocation), then Map and the authorization
// identity policy. A refused certificate or authorization identity is
// invalidCredentials whose message names the serial and the reason.
func (b *Backend) BindExternalPresented(ctx context.Context, presented []*x509.Certificate, authzID string) (ldap.Identity, error) {
	res, err := b.Mapper.Authenticate(ctx, presented, authzID)
	return b.result(ctx, res, err)
}

func (b *Backend) result(ctx context.Context, res *Result, err error) (ldap.Identity, error) {
	if b.Logger != nil {
		LogBind(ctx, b.Logger, res, err)
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ldap.Identity{}, ldap.Errorf(ldap.ResultInvalidCredentials, "%s", ce.Error())
	}
	if err != nil {
		return ldap.Identity{}, err
	}
	return ldap.Identity{DN: res.Identity.DN, Mechanism: res.Identity.Mechanism, Rule: res.Rule + ": " + res.How, Chain: res.Chain}, nil
}

var (
	_ ldap.ExternalBackend       = (*Backend)(nil)
	_ ldap.ChainVerifyingBackend = (*Backend)(nil)
)
