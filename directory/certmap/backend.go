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
// serves everything through the embedded directory.LDAPBackend and
// overrides BindExternal (ldap.ExternalBackend). pkid serve plugs it in
// with
//
//	backend := &certmap.Backend{LDAPBackend: &directory.LDAPBackend{Tree: tree}, Mapper: m, Logger: log}
//
// The frontend has already verified the chain against
// ServerConfig.ClientCAs at the time of the bind; Mapper checks that the
// path ends at one of its own anchors (verifying it afresh when not) and
// checks revocation, so foreign roots must be in both.
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
	return ldap.Identity{DN: res.Identity.DN, Mechanism: res.Identity.Mechanism, Rule: res.Rule + ": " + res.How}, nil
}

var _ ldap.ExternalBackend = (*Backend)(nil)
