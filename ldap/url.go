package ldap

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// URL is an LDAP URL (RFC 4516), as found in CRL distribution points and
// referrals: ldap://host:port/dn?attributes?scope?filter?extensions.
type URL struct {
	Scheme     string // "ldap", "ldaps" or "ldapi", lower case
	Host       string // host or host:port as written; "" means the client's default
	DN         string // base DN, percent-decoded; not parsed here
	Attributes []string
	Scope      Scope  // ScopeBaseObject when absent
	Filter     Filter // (objectClass=*) when absent
	Extensions []URLExtension
}

// URLExtension is one extension of an LDAP URL (RFC 4516 §2).
type URLExtension struct {
	Critical bool // written with a leading '!'
	Type     string
	Value    string // percent-decoded; "" when absent
}

// MaxURLLength bounds what ParseURL accepts; distribution point URLs come
// from certificates, which are untrusted input.
const MaxURLLength = 8 << 10

// ParseURL parses an RFC 4516 LDAP URL. The filter is parsed with
// ParseFilter; the DN is left as a string for package dn.
func ParseURL(s string) (*URL, error) {
	u, err := parseURL(s)
	if err != nil {
		return nil, fmt.Errorf("ldap: URL %q: %w", truncate(s, 100), err)
	}
	return u, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func parseURL(s string) (*URL, error) {
	if len(s) > MaxURLLength {
		return nil, fmt.Errorf("longer than %d bytes", MaxURLLength)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, errors.New("missing scheme://")
	}
	u := &URL{Scheme: strings.ToLower(scheme), Filter: Filter{Type: FilterPresent, Attr: "objectClass"}}
	switch u.Scheme {
	case "ldap", "ldaps", "ldapi":
	default:
		return nil, fmt.Errorf("scheme %q is not ldap, ldaps or ldapi", scheme)
	}
	host, path, hasPath := strings.Cut(rest, "/")
	if err := checkHost(u.Scheme, host); err != nil {
		return nil, err
	}
	u.Host = host
	if !hasPath {
		if strings.ContainsAny(host, "?#") {
			return nil, errors.New("'?' before the '/' that starts the DN")
		}
		return u, nil
	}
	parts := strings.Split(path, "?")
	if len(parts) > 5 {
		return nil, errors.New("more than four '?' separators")
	}
	dn, err := url.PathUnescape(parts[0])
	if err != nil {
		return nil, fmt.Errorf("dn: %w", err)
	}
	u.DN = dn
	if len(parts) > 1 && parts[1] != "" {
		for _, raw := range strings.Split(parts[1], ",") {
			a, err := url.PathUnescape(raw)
			if err != nil {
				return nil, fmt.Errorf("attributes: %w", err)
			}
			if err := checkAttributeDescription(a); err != nil && a != "*" && a != "+" && a != "1.1" {
				return nil, fmt.Errorf("attribute %q: %w", a, err)
			}
			u.Attributes = append(u.Attributes, a)
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		switch strings.ToLower(parts[2]) {
		case "base":
			u.Scope = ScopeBaseObject
		case "one":
			u.Scope = ScopeSingleLevel
		case "sub":
			u.Scope = ScopeWholeSubtree
		case "children", "subordinate": // OpenLDAP's spelling of subordinateSubtree
			u.Scope = ScopeChildren
		default:
			return nil, fmt.Errorf("scope %q is not base, one, sub or children", parts[2])
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		fs, err := url.PathUnescape(parts[3])
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		if u.Filter, err = ParseFilter(fs); err != nil {
			return nil, err
		}
	}
	if len(parts) > 4 {
		if parts[4] == "" {
			return nil, errors.New("empty extensions")
		}
		for _, raw := range strings.Split(parts[4], ",") {
			var x URLExtension
			if strings.HasPrefix(raw, "!") {
				x.Critical, raw = true, raw[1:]
			}
			typ, val, _ := strings.Cut(raw, "=")
			var err error
			if x.Type, err = url.PathUnescape(typ); err != nil || x.Type == "" {
				return nil, fmt.Errorf("extension %q: bad type", raw)
			}
			if x.Value, err = url.PathUnescape(val); err != nil {
				return nil, fmt.Errorf("extension %q: %w", raw, err)
			}
			u.Extensions = append(u.Extensions, x)
		}
	}
	return u, nil
}

func checkHost(scheme, host string) error {
	if host == "" {
		return nil
	}
	if scheme == "ldapi" {
		// A percent-encoded socket path.
		_, err := url.PathUnescape(host)
		return err
	}
	if strings.ContainsAny(host, "?#@ ") {
		return fmt.Errorf("host %q has invalid characters", host)
	}
	h := host
	if strings.HasPrefix(host, "[") || strings.Count(host, ":") == 1 {
		var port string
		var err error
		if strings.HasPrefix(host, "[") && !strings.Contains(host, "]:") {
			h = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
			if net.ParseIP(h) == nil {
				return fmt.Errorf("host %q is not an IPv6 address", host)
			}
			return nil
		}
		if h, port, err = net.SplitHostPort(host); err != nil {
			return fmt.Errorf("host %q: %w", host, err)
		}
		if port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5 {
			return fmt.Errorf("host %q: bad port", host)
		}
	}
	if h == "" {
		return fmt.Errorf("host %q: empty host name", host)
	}
	return nil
}

// Addr returns host:port to dial: the URL's host with the scheme's default
// port (389, or 636 for ldaps) when none is given. It is "" for ldapi and
// for URLs without a host.
func (u *URL) Addr() string {
	if u.Host == "" || u.Scheme == "ldapi" {
		return ""
	}
	if _, _, err := net.SplitHostPort(u.Host); err == nil {
		return u.Host
	}
	port := "389"
	if u.Scheme == "ldaps" {
		port = "636"
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), port)
}

// SearchRequest returns the search the URL describes.
func (u *URL) SearchRequest() *SearchRequest {
	return &SearchRequest{BaseObject: u.DN, Scope: u.Scope, Filter: u.Filter, Attributes: u.Attributes}
}

// String returns the URL in RFC 4516 form, percent-encoding what must be.
func (u *URL) String() string {
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	b.WriteString(u.Host)
	b.WriteByte('/')
	b.WriteString(escapeURLPart(u.DN, false))
	var tail []string
	tail = append(tail, escapeURLPart(strings.Join(u.Attributes, ","), false))
	tail = append(tail, [...]string{"base", "one", "sub", "children"}[u.Scope&3])
	tail = append(tail, escapeURLPart(u.Filter.String(), false))
	var xs []string
	for _, x := range u.Extensions {
		s := escapeURLPart(x.Type, true)
		if x.Critical {
			s = "!" + s
		}
		if x.Value != "" {
			s += "=" + escapeURLPart(x.Value, true)
		}
		xs = append(xs, s)
	}
	tail = append(tail, strings.Join(xs, ","))
	for len(tail) > 0 && tail[len(tail)-1] == "" {
		tail = tail[:len(tail)-1]
	}
	if len(tail) == 3 && tail[2] == "(objectClass=*)" {
		tail = tail[:2]
	}
	if len(tail) == 2 && tail[1] == "base" {
		tail = tail[:1]
	}
	if len(tail) == 1 && tail[0] == "" {
		tail = nil
	}
	for _, t := range tail {
		b.WriteByte('?')
		b.WriteString(t)
	}
	return b.String()
}

// escapeURLPart percent-encodes s for one part of an LDAP URL: '?' always,
// ',' inside extensions, and whatever is not a URL character.
func escapeURLPart(s string, ext bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '?' || c == '%' || c == '#' || (ext && (c == ',' || c == '=' || c == '!')) || c <= ' ' || c >= 0x7f:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
