package doctor

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/revocation"
)

// LDAPFetcher fetches CRLs (and CA certificates) from ldap:// and ldaps://
// URLs (RFC 4516) as found in CRL distribution points: an anonymous
// base-object search for the URL's attribute, by default
// certificateRevocationList;binary (RFC 4523 §2.2). Plug it into
// revocation.Config.Fetchers under "ldap" and "ldaps".
type LDAPFetcher struct {
	// Timeout bounds a fetch when the context has no earlier deadline;
	// zero means 5 seconds.
	Timeout time.Duration
	// MaxSize bounds the answer; zero means 32 MiB.
	MaxSize int
	// TLSConfig is used for ldaps:// URLs; nil means the system roots.
	TLSConfig *tls.Config
}

var _ revocation.Fetcher = (*LDAPFetcher)(nil)

// Fetch returns the first value of the URL's attribute in the entry the URL
// names.
func (f *LDAPFetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := ldap.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	host := u.Host
	switch u.Scheme {
	case "ldap", "ldaps":
	default:
		return nil, fmt.Errorf("%s: only ldap:// and ldaps:// URLs are fetched", rawURL)
	}
	if host == "" {
		return nil, fmt.Errorf("%s: the URL names no host", rawURL)
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	attrs := u.Attributes
	if len(attrs) == 0 {
		attrs = []string{"certificateRevocationList;binary"}
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", revocation.ErrUnavailable, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if u.Scheme == "ldaps" {
		cfg := f.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(host)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("%w: TLS to %s: %w", revocation.ErrUnavailable, host, err)
		}
		conn = tc
	}
	req := &ldap.Message{ID: 1, Op: &ldap.SearchRequest{
		BaseObject: u.DN, Scope: u.Scope, Filter: u.Filter, Attributes: attrs,
		SizeLimit: 1, TimeLimit: int32(timeout / time.Second),
	}}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode search for %s: %w", rawURL, err)
	}
	if _, err := conn.Write(b); err != nil {
		return nil, fmt.Errorf("%w: %w", revocation.ErrUnavailable, err)
	}
	limit := f.MaxSize
	if limit <= 0 {
		limit = 32 << 20
	}
	br := bufio.NewReader(conn)
	var value []byte
	for i := 0; i < 16; i++ {
		m, err := ldap.ReadMessage(br, limit)
		if err != nil {
			return nil, fmt.Errorf("%w: read search answer from %s: %w", revocation.ErrUnavailable, host, err)
		}
		switch op := m.Op.(type) {
		case *ldap.SearchResultEntry:
			if value == nil {
				value = pickAttribute(op.Attributes, attrs)
			}
		case *ldap.SearchResultDone:
			if err := op.LDAPResult.Err(); err != nil {
				return nil, fmt.Errorf("search %s: %w", rawURL, err)
			}
			if value == nil {
				return nil, fmt.Errorf("%s: the entry has no %s value", rawURL, strings.Join(attrs, " or "))
			}
			if ub, err := (&ldap.Message{ID: 2, Op: &ldap.UnbindRequest{}}).Marshal(); err == nil {
				conn.Write(ub)
			}
			return value, nil
		case *ldap.ExtendedResponse:
			if ldap.IsNoticeOfDisconnection(m) {
				return nil, errors.New("the LDAP server disconnected: " + op.LDAPResult.DiagnosticMessage)
			}
		}
	}
	return nil, fmt.Errorf("%s: no SearchResultDone after 16 messages", rawURL)
}

// pickAttribute returns the first value of the first wanted attribute,
// comparing names without options such as ;binary.
func pickAttribute(got []ldap.Attribute, want []string) []byte {
	base := func(s string) string { n, _, _ := strings.Cut(s, ";"); return strings.ToLower(n) }
	for _, w := range want {
		for _, a := range got {
			if base(a.Type) == base(w) && len(a.Values) > 0 {
				return a.Values[0]
			}
		}
	}
	return nil
}
