package ca

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Limits for SAN lists from the command line or a request.
const (
	maxSANListLength = 16 << 10
	maxSANs          = 200
)

// SANs are the subject alternative names of a certificate
// (RFC 5280 §4.2.1.6).
type SANs struct {
	DNS   []string
	IP    []net.IP
	Email []string
	URI   []*url.URL
}

// Len is the number of names.
func (s *SANs) Len() int { return len(s.DNS) + len(s.IP) + len(s.Email) + len(s.URI) }

// String formats s in OpenSSL's spelling, the form ParseSANs reads.
func (s *SANs) String() string {
	var parts []string
	for _, d := range s.DNS {
		parts = append(parts, "DNS:"+d)
	}
	for _, ip := range s.IP {
		parts = append(parts, "IP:"+ip.String())
	}
	for _, e := range s.Email {
		parts = append(parts, "email:"+e)
	}
	for _, u := range s.URI {
		parts = append(parts, "URI:"+u.String())
	}
	return strings.Join(parts, ",")
}

// ParseSANs reads a subject alternative name list in OpenSSL's spelling:
// "DNS:www.example.org,IP:192.0.2.1,IP:2001:db8::1,email:a@example.org,
// URI:https://example.org/x", comma separated, spaces around items
// ignored, type names in any case ("IP Address" and "RID" are not
// accepted). DNS names must be ASCII (use the xn-- form for IDNs), may
// start with one "*." wildcard label, and are lower-cased. A URI must be
// absolute with a host and cannot contain a comma. Duplicates are dropped.
func ParseSANs(list string) (*SANs, error) {
	s := &SANs{}
	if strings.TrimSpace(list) == "" {
		return s, nil
	}
	if len(list) > maxSANListLength {
		return nil, fmt.Errorf("SAN list longer than %d bytes", maxSANListLength)
	}
	seen := map[string]bool{}
	for i, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if i >= maxSANs {
			return nil, fmt.Errorf("more than %d SANs", maxSANs)
		}
		typ, val, ok := strings.Cut(item, ":")
		if !ok || val == "" {
			return nil, fmt.Errorf("SAN %q: expected TYPE:value with TYPE one of DNS, IP, email, URI (e.g. DNS:www.example.org)", item)
		}
		typ = strings.ToLower(strings.TrimSpace(typ))
		val = strings.TrimSpace(val)
		key := typ + ":" + val
		switch typ {
		case "dns":
			d, err := checkDNSName(val)
			if err != nil {
				return nil, fmt.Errorf("SAN %q: %w", item, err)
			}
			key = "dns:" + d
			if !seen[key] {
				s.DNS = append(s.DNS, d)
			}
		case "ip":
			a, err := netip.ParseAddr(val)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("SAN %q: not an IPv4 or IPv6 address", item)
			}
			key = "ip:" + a.Unmap().String()
			if !seen[key] {
				s.IP = append(s.IP, net.IP(a.Unmap().AsSlice()))
			}
		case "email":
			if err := checkEmail(val); err != nil {
				return nil, fmt.Errorf("SAN %q: %w", item, err)
			}
			if !seen[key] {
				s.Email = append(s.Email, val)
			}
		case "uri":
			u, err := url.Parse(val)
			if err != nil || !u.IsAbs() || u.Host == "" {
				return nil, fmt.Errorf("SAN %q: a URI must be absolute with a host, like https://example.org/path or spiffe://trust/id", item)
			}
			if !isASCII(val) {
				return nil, fmt.Errorf("SAN %q: a URI must be ASCII (percent-encode other characters)", item)
			}
			if !seen[key] {
				s.URI = append(s.URI, u)
			}
		default:
			return nil, fmt.Errorf("SAN %q: unknown type %q; use DNS, IP, email or URI", item, typ)
		}
		seen[key] = true
	}
	return s, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkDNSName validates a DNS name per RFC 1034 §3.5 preferred syntax (as
// RFC 5280 §4.2.1.6 requires), allowing a leading "*." wildcard and
// underscores, and returns it lower-cased.
func checkDNSName(d string) (string, error) {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("a DNS name has 1 to 253 characters")
	}
	labels := strings.Split(d, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 2 {
			continue
		}
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("label %q: each dot-separated label has 1 to 63 characters", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("label %q starts or ends with '-'", l)
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				if c == '*' {
					return "", fmt.Errorf("a wildcard is only allowed as the whole first label of a name with at least three labels (*.example.org)")
				}
				return "", fmt.Errorf("character %q not allowed; DNS names use a-z, 0-9, '-' (IDNs in their xn-- form)", c)
			}
		}
	}
	return d, nil
}

// looksLikeHostname reports whether a subject CN can stand in as the DNS
// SAN of a server certificate: a valid DNS name with at least one dot, or
// "localhost".
func looksLikeHostname(cn string) bool {
	if cn == "localhost" {
		return true
	}
	d, err := checkDNSName(cn)
	return err == nil && strings.Contains(d, ".")
}

func checkEmail(e string) error {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || strings.Contains(domain, "@") {
		return fmt.Errorf("expected an address like name@example.org")
	}
	if len(e) > 254 || !isASCII(local) || strings.ContainsAny(local, "\"(),:;<>[\\]") {
		return fmt.Errorf("the local part must be plain ASCII (RFC 5280 rfc822Name)")
	}
	if _, err := checkDNSName(domain); err != nil {
		return fmt.Errorf("domain %q: %w", domain, err)
	}
	return nil
}
