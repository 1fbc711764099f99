package certmap

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pkid/pkid/dn"
)

// DNFilter is a RACF RACDCERT MAP style subject or issuer DN filter
// (SDNFILTER, IDNFILTER): a whole or partial DN.
//
// Matching (what pkid implements, after RACF): the filter's RDNs must equal
// the most significant RDNs of the certificate's name, in order; the
// certificate's name may have more, less significant RDNs in front. So
// SDNFILTER('OU=Sales.O=IBM') matches "CN=Ann,OU=Sales,O=IBM" and
// "OU=Sales,O=IBM" but not "CN=Ann,OU=Sales,O=IBM,C=US" (the filter must
// reach the most significant end) nor "CN=Ann,OU=Sales EMEA,O=IBM" (RDNs
// match whole, never as substrings). RDNs compare by their normalised
// form: attribute types by OID, values case-folded with insignificant
// spaces removed, multi-valued RDNs as sets. Where RACF picks the most
// specific of several matching filters, pkid tries rules in their
// configured order: list specific filters first.
//
// Syntax: RACF's, RDNs separated by '.' with the most significant last
// ("CN=secp521r.O=cpwebuser.C=GB"; a '.' splits only where an attribute
// type and '=' follow, so "O=example.com.C=GB" has two RDNs, and "\." is a
// literal dot), or RFC 4514 with ',' separators. RACF's type names SP
// (state or province), T (title) and E/EMAIL are accepted besides the RFC
// 4514 ones.
type DNFilter struct {
	text string
	rdns []string // normalised RDNs, most significant first
}

// racfSplit finds the '.' that separate RDNs in RACF syntax.
var racfSplit = regexp.MustCompile(`(^|[^\\])\.([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)=`)

var racfTypes = map[string]string{"sp": "ST", "t": "title"}

// ParseDNFilter parses a filter in RACF or RFC 4514 syntax.
func ParseDNFilter(s string) (*DNFilter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty DN filter")
	}
	var parts []string
	if strings.Contains(strings.ReplaceAll(s, `\,`, ""), ",") {
		parts = []string{s}
	} else {
		// Mark the RACF separators, then split on the marks.
		const mark = "\x00"
		marked := racfSplit.ReplaceAllString(s, "${1}"+mark+"${2}=")
		// ReplaceAll does not see overlapping matches ("A=x.B=y.C=z" is
		// fine, but "A=.B=" would hide one): run until stable.
		for {
			next := racfSplit.ReplaceAllString(marked, "${1}"+mark+"${2}=")
			if next == marked {
				break
			}
			marked = next
		}
		for _, p := range strings.Split(marked, mark) {
			parts = append(parts, racfPart(p))
		}
	}
	var seq pkix.RDNSequence
	// RFC 4514 and RACF both write the most significant RDN last.
	for i := len(parts) - 1; i >= 0; i-- {
		rdns, err := dn.Parse(parts[i])
		if err != nil {
			return nil, fmt.Errorf("DN filter %q: %w", s, err)
		}
		seq = append(seq, rdns...)
	}
	if len(seq) == 0 {
		return nil, fmt.Errorf("DN filter %q names no RDN", s)
	}
	f := &DNFilter{text: s}
	for _, r := range seq {
		f.rdns = append(f.rdns, dn.NormalizeRDNs(pkix.RDNSequence{r}))
	}
	return f, nil
}

// racfPart rewrites one RACF RDN "SP=Hants" as RFC 4514 "ST=Hants".
func racfPart(p string) string {
	p = strings.ReplaceAll(p, `\.`, ".")
	typ, val, ok := strings.Cut(p, "=")
	if !ok {
		return p
	}
	if t, ok := racfTypes[strings.ToLower(strings.TrimSpace(typ))]; ok {
		typ = t
	}
	return typ + "=" + val
}

// String returns the filter as configured.
func (f *DNFilter) String() string { return f.text }

// Match reports whether the DER-encoded name (a certificate's RawSubject
// or RawIssuer) ends with the filter's RDNs. A name that does not parse
// matches nothing.
func (f *DNFilter) Match(rawName []byte) bool {
	rdns, err := dn.FromDER(rawName)
	if err != nil {
		return false
	}
	return f.matchRDNs(rdns)
}

func (f *DNFilter) matchRDNs(rdns pkix.RDNSequence) bool {
	if len(rdns) < len(f.rdns) {
		return false
	}
	for i, want := range f.rdns {
		if dn.NormalizeRDNs(pkix.RDNSequence{rdns[i]}) != want {
			return false
		}
	}
	return true
}
