package ca

import (
	"crypto/x509"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Profile is a kind of certificate pkid issues.
type Profile struct {
	Name        string
	Description string
	ExtKeyUsage []x509.ExtKeyUsage
	// IsCA marks the sub-ca profile: CA:true, pathLen 0, keyCertSign+cRLSign.
	IsCA bool
	// NeedsSAN: RFC 6125 clients match host names against SANs only.
	NeedsSAN bool
	// OCSPNoCheck adds id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
	OCSPNoCheck bool
	DefaultDays int
}

// Profiles are the issuance profiles by name.
var Profiles = map[string]*Profile{
	"server": {Name: "server", Description: "TLS server (serverAuth); needs a DNS or IP SAN",
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NeedsSAN: true, DefaultDays: 397},
	"client": {Name: "client", Description: "TLS client (clientAuth), e.g. for LDAP SASL EXTERNAL",
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, DefaultDays: 397},
	"client-server": {Name: "client-server", Description: "both ends of mutual TLS (serverAuth+clientAuth); needs a SAN",
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, NeedsSAN: true, DefaultDays: 397},
	"ocsp-signing": {Name: "ocsp-signing", Description: "delegated OCSP responder (OCSPSigning, ocsp-nocheck), short-lived",
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}, OCSPNoCheck: true, DefaultDays: 30},
	"sub-ca": {Name: "sub-ca", Description: "subordinate CA (CA:true, pathLen 0); issued by a CA that may issue CAs (the root)",
		IsCA: true, DefaultDays: 5 * 365},
}

// ProfileNames lists the profile names, sorted, for messages.
func ProfileNames() string {
	var n []string
	for k := range Profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// ParseProfile returns the named profile.
func ParseProfile(name string) (*Profile, error) {
	if p, ok := Profiles[strings.ToLower(name)]; ok {
		return p, nil
	}
	if name == "" {
		return nil, fmt.Errorf("no profile given; use one of %s", ProfileNames())
	}
	return nil, fmt.Errorf("unknown profile %q; use one of %s", name, ProfileNames())
}

// keyUsage is the keyUsage for a certificate of this profile and key type:
// digitalSignature for every leaf; keyEncipherment only for RSA keys of
// server profiles (RSA key transport in TLS 1.2 is done by the server's
// key; a client key never enciphers, and zlint's
// e_key_usage_and_extended_key_usage_inconsistent refuses it with
// clientAuth alone; never on EC or Ed25519 keys, which cannot encipher);
// keyCertSign+cRLSign(+digitalSignature) for CAs.
func (p *Profile) keyUsage(kt KeyType) x509.KeyUsage {
	if p.IsCA {
		return x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	}
	ku := x509.KeyUsageDigitalSignature
	if strings.HasPrefix(string(kt), "rsa") && slices.Contains(p.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		ku |= x509.KeyUsageKeyEncipherment
	}
	return ku
}
