package lint

import (
	"crypto/x509"
	"sort"
	"time"
)

// Severity says how bad a finding is. The four values are ordered: Error is
// worse than Warning, which is worse than Notice, which is worse than Info.
// An Error finding is what makes the CA refuse to issue a certificate.
type Severity string

// The severities, from worst to mildest.
const (
	// Error: the object violates a MUST of the standard or will be refused
	// by common TLS stacks.
	Error Severity = "error"
	// Warning: the object violates a SHOULD or will be refused by some
	// stacks or in some uses.
	Warning Severity = "warning"
	// Notice: worth knowing; not wrong in itself.
	Notice Severity = "notice"
	// Info: informational only.
	Info Severity = "info"
)

// Rank orders severities: Error 3, Warning 2, Notice 1, Info 0, and -1 for
// an unknown value.
func (s Severity) Rank() int {
	switch s {
	case Error:
		return 3
	case Warning:
		return 2
	case Notice:
		return 1
	case Info:
		return 0
	}
	return -1
}

// Finding is one problem found in a certificate or CRL.
type Finding struct {
	// Severity says how bad the problem is.
	Severity Severity `json:"severity"`
	// ID names the check: "pkid_..." for pkid's own checks, zlint's lint
	// name (e.g. "e_ext_san_space_dns_name") for zlint's.
	ID string `json:"id"`
	// Source is "pkid" or "zlint".
	Source string `json:"source"`
	// Object names what was linted, e.g.
	// "certificate CN=web.example,serial 3A9F..." or "CRL issued by CN=CA".
	Object string `json:"object"`
	// Message says in one sentence what is wrong and its consequence.
	Message string `json:"message"`
	// Fix says in one sentence how to fix it. Always set for pkid's checks;
	// zlint findings carry the standard's citation instead, when known.
	Fix string `json:"fix,omitempty"`
}

// Options control a lint run. The zero value lints against the current time
// without knowledge of the issuer or intended use.
type Options struct {
	// Now returns the time validity is checked against; nil means time.Now.
	Now func() time.Time
	// Issuer, when set, is the certificate of the CA that issued the linted
	// certificate or CRL. It enables the checks that compare the two
	// (validity nested in the issuer's, AKI matching the issuer's SKI, a CRL
	// issuer holding cRLSign).
	Issuer *x509.Certificate
	// Issuers are candidate issuers (a chain as sent by a server, the other
	// certificates on a command line). When Issuer is nil, the candidate
	// whose subject is the linted object's issuer is used as Issuer.
	Issuers []*x509.Certificate
	// Purpose, when set, is how the certificate is about to be used (the
	// doctor knows whether it saw a server or a client certificate). It
	// turns "might not work" into "will not work" findings for that use.
	Purpose Purpose
}

// Purpose is the TLS role a certificate is used in.
type Purpose string

// The purposes Options.Purpose accepts.
const (
	// PurposeUnknown: infer from the certificate itself.
	PurposeUnknown Purpose = ""
	// PurposeServer: the certificate is presented by a TLS server.
	PurposeServer Purpose = "server"
	// PurposeClient: the certificate is presented by a TLS client.
	PurposeClient Purpose = "client"
)

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// HasErrors reports whether any finding has severity Error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// sortFindings puts the worst findings first, keeping the check order among
// findings of equal severity.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		return fs[i].Severity.Rank() > fs[j].Severity.Rank()
	})
}
