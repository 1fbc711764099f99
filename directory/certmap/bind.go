package certmap

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/ldap"
)

// Result is what one EXTERNAL bind established, as far as it got: the
// fields for the bind's log line are set even when Authenticate fails.
type Result struct {
	// Identity is the bound identity (the authorization identity when one
	// was requested and allowed); zero on failure.
	Identity directory.Identity
	// MappedDN is the entry the certificate mapped to; Rule and How say
	// which rule matched and how.
	MappedDN  string
	Rule, How string
	// Serial and Subject identify the client certificate; Issuer its issuer.
	Serial, Subject, Issuer string
	// AuthzID is the authorization identity the client asked for ("" none).
	AuthzID string
	// Chain is the verified path, leaf first (nil when verification failed).
	Chain []*x509.Certificate
}

func (m *Mapper) now() time.Time {
	if m.cfg.Now != nil {
		return m.cfg.Now()
	}
	return time.Now()
}

// Authenticate is the whole SASL EXTERNAL bind for the frontend: Verify
// the chain (tls.ConnectionState.PeerCertificates), Map it, then apply the
// authorization identity policy to authzID (the SASL credentials: "",
// "dn:DN" or "u:NAME"; RFC 4513 §5.2.1.8, RFC 4422 §5). The result's
// Identity has Mechanism "EXTERNAL". An *Error means invalidCredentials
// (with Error() as the message); any other error is the server's fault
// (operationsError or unavailable). The *Result is never nil.
//
// Authorization identity policy: a certificate may assume only the
// identity it maps to, unless its mapped DN is in Config.Proxy, in which
// case it may assume any existing entry.
func (m *Mapper) Authenticate(ctx context.Context, chain []*x509.Certificate, authzID string) (*Result, error) {
	return m.authenticate(ctx, chain, authzID, false)
}

// AuthenticatePath is Authenticate for a path already validated with
// crypto/x509 (see VerifyPath): what the LDAP frontend hands to
// ldap.ExternalBackend. It saves verifying the signatures twice.
func (m *Mapper) AuthenticatePath(ctx context.Context, path []*x509.Certificate, authzID string) (*Result, error) {
	return m.authenticate(ctx, path, authzID, true)
}

func (m *Mapper) authenticate(ctx context.Context, chain []*x509.Certificate, authzID string, validated bool) (*Result, error) {
	res := &Result{AuthzID: authzID}
	v, err := m.verify(ctx, chain, validated)
	if err != nil {
		if len(chain) > 0 && chain[0] != nil {
			res.Serial = chainSerial(chain[0])
			res.Subject = certSubject(chain[0])
			res.Issuer = certIssuer(chain[0])
		}
		return res, err
	}
	res.Serial, res.Subject, res.Issuer, res.Chain = v.Serial, v.Subject, v.Issuer, v.Chain
	mp, err := m.Map(ctx, v)
	if err != nil {
		return res, err
	}
	res.MappedDN, res.Rule, res.How = mp.DN, mp.Rule, mp.How
	target, err := m.authorize(ctx, v, mp.DN, authzID)
	if err != nil {
		return res, err
	}
	res.Identity = directory.Identity{DN: target, Mechanism: "EXTERNAL"}
	return res, nil
}

func (m *Mapper) authorize(ctx context.Context, v *Verified, mapped, authzID string) (string, error) {
	if authzID == "" {
		return mapped, nil
	}
	refuse := func(format string, args ...any) error {
		e := newError(v.Leaf, nil, "maps to %s, which may not assume authorization identity %q: %s", mapped, authzID, fmt.Sprintf(format, args...))
		e.Authz = true
		return e
	}
	var target string
	switch {
	case strings.HasPrefix(authzID, "dn:"):
		target = strings.TrimSpace(authzID[3:])
		if target == "" {
			return "", refuse("the anonymous identity is not available over EXTERNAL")
		}
	case strings.HasPrefix(authzID, "u:"):
		if m.cfg.UserBase == "" {
			return "", refuse("u: identities are not configured (certmap UserBase)")
		}
		name := authzID[2:]
		f, err := ldap.ParseFilter("(uid=" + escapeFilter(name) + ")")
		if err != nil {
			return "", refuse("%v", err)
		}
		e, err := m.searchOne(ctx, m.cfg.UserBase, ldap.ScopeWholeSubtree, f, "(uid="+escapeFilter(name)+")")
		var nm *errNoMatch
		if errors.As(err, &nm) {
			return "", refuse("%s", nm.why)
		}
		if err != nil {
			return "", err
		}
		target = e.DN
	default:
		return "", refuse(`an authorization identity starts with "dn:" or "u:"`)
	}
	schema := m.cfg.Tree.Schema()
	nt, err := directory.NormalizeDN(schema, target)
	if err != nil {
		return "", refuse("invalid DN: %v", err)
	}
	nm, err := directory.NormalizeDN(schema, mapped)
	if err != nil {
		return "", err
	}
	if nt == nm {
		return mapped, nil
	}
	if !m.proxy[nm] {
		return "", refuse("only the mapped identity is allowed, and %s is not in the proxy list", mapped)
	}
	e, err := m.entry(ctx, target)
	var nme *errNoMatch
	if errors.As(err, &nme) {
		return "", refuse("%s", nme.why)
	}
	if err != nil {
		return "", err
	}
	return e.DN, nil
}

func chainSerial(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return newError(c, nil, "").Serial
}

// LogBind writes the one log line of an EXTERNAL bind (slog Info "bind")
// with the DN, mechanism, certificate serial and subject, the rule used
// and the result: "success" or the failure's message. l nil means
// slog.Default().
func LogBind(ctx context.Context, l *slog.Logger, res *Result, err error) {
	if l == nil {
		l = slog.Default()
	}
	if res == nil {
		res = &Result{}
	}
	result := "success"
	if err != nil {
		result = err.Error()
	}
	l.LogAttrs(ctx, slog.LevelInfo, "bind",
		slog.String("dn", res.Identity.DN),
		slog.String("mech", "EXTERNAL"),
		slog.String("serial", res.Serial),
		slog.String("subject", res.Subject),
		slog.String("issuer", res.Issuer),
		slog.String("rule", res.Rule),
		slog.String("mapped", res.MappedDN),
		slog.String("authzid", res.AuthzID),
		slog.String("result", result))
}
