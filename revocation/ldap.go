package revocation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/pkid/pkid/ldap"
)

// LDAPFetcher fetches ldap:// (and ldaps://) CRL distribution points (RFC
// 4516 URLs, RFC 5280 §4.2.1.13): it connects to the URL's host, binds
// anonymously, reads the entry named by the URL's DN (a base-object search)
// and returns the first value of the URL's attribute, by default
// certificateRevocationList;binary. Servers that return the attribute
// without the ;binary option (as some do for certificateRevocationList) are
// accepted too. It is the default for "ldap" and "ldaps" in New when
// Config.Fetchers has no entry for them.
type LDAPFetcher struct {
	// TLSConfig is used for ldaps:// URLs; nil means the system roots.
	TLSConfig *tls.Config
	// MaxSize bounds the LDAP message carrying the CRL; zero means 32 MiB.
	MaxSize int
}

// Fetch returns the DER bytes of the CRL at u. Network failures satisfy
// errors.Is(err, ErrUnavailable); a missing entry or attribute does too,
// since the directory may simply not have been published to yet.
func (f *LDAPFetcher) Fetch(ctx context.Context, u string) ([]byte, error) {
	lu, err := ldap.ParseURL(u)
	if err != nil {
		return nil, err
	}
	if lu.Host == "" {
		return nil, fmt.Errorf("ldap URL %s names no host", u)
	}
	size := f.MaxSize
	if size <= 0 {
		size = 32 << 20
	}
	cfg := &ldap.ClientConfig{TLSConfig: f.TLSConfig, MaxMessageSize: size, MaxEntries: 1}
	// The Checker's FetchTimeout reaches Dial and every read through ctx.
	c, err := ldap.Dial(ctx, u, cfg)
	if err != nil {
		return nil, unavailable(err)
	}
	defer c.Close()
	if err := c.Bind(ctx, "", ""); err != nil {
		return nil, unavailable(fmt.Errorf("anonymous bind: %w", err))
	}
	req := lu.SearchRequest()
	req.Scope = ldap.ScopeBaseObject
	want := "certificateRevocationList"
	if len(lu.Attributes) > 0 {
		want = lu.Attributes[0]
	} else {
		req.Attributes = []string{"certificateRevocationList;binary"}
	}
	wantType := attrType(want)
	entries, err := c.Search(ctx, req)
	if err != nil {
		var le *ldap.Error
		if errors.As(err, &le) && le.Code != ldap.ResultNoSuchObject {
			return nil, fmt.Errorf("search %q: %w", lu.DN, err)
		}
		return nil, unavailable(fmt.Errorf("search %q: %w", lu.DN, err))
	}
	for _, e := range entries {
		for _, a := range e.Attributes {
			if strings.EqualFold(attrType(a.Type), wantType) && len(a.Values) > 0 {
				// Values alias the message buffer, which is not reused.
				return a.Values[0], nil
			}
		}
	}
	if len(entries) == 0 {
		return nil, unavailable(fmt.Errorf("no entry %q", lu.DN))
	}
	return nil, unavailable(fmt.Errorf("entry %q has no %s", lu.DN, want))
}

// attrType strips the options (";binary") from an attribute description.
func attrType(desc string) string {
	if i := strings.IndexByte(desc, ';'); i >= 0 {
		return desc[:i]
	}
	return desc
}
