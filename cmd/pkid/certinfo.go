package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/store"
)

// certSubject and certIssuer format names as pkid prints DNs everywhere.
func certSubject(c *x509.Certificate) string { return formatName(c.RawSubject) }
func certIssuer(c *x509.Certificate) string  { return formatName(c.RawIssuer) }

func formatName(der []byte) string {
	s, err := dn.FormatDER(der)
	if err != nil {
		return "(unparsable name)"
	}
	return s
}

// sanList formats the certificate's SANs in OpenSSL's spelling.
func sanList(c *x509.Certificate) string {
	s := &ca.SANs{DNS: c.DNSNames, IP: c.IPAddresses, Email: c.EmailAddresses, URI: c.URIs}
	return s.String()
}

func keyDescription(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

var keyUsageNames = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"}, {x509.KeyUsageContentCommitment, "nonRepudiation"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"}, {x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"}, {x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"}, {x509.KeyUsageEncipherOnly, "encipherOnly"}, {x509.KeyUsageDecipherOnly, "decipherOnly"},
}

func keyUsages(ku x509.KeyUsage) []string {
	var out []string
	for _, k := range keyUsageNames {
		if ku&k.bit != 0 {
			out = append(out, k.name)
		}
	}
	return out
}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny: "any", x509.ExtKeyUsageServerAuth: "serverAuth", x509.ExtKeyUsageClientAuth: "clientAuth",
	x509.ExtKeyUsageCodeSigning: "codeSigning", x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageTimeStamping: "timeStamping", x509.ExtKeyUsageOCSPSigning: "OCSPSigning",
}

func extKeyUsages(c *x509.Certificate) []string {
	var out []string
	for _, e := range c.ExtKeyUsage {
		if n, ok := extKeyUsageNames[e]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("eku(%d)", e))
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return out
}

// certStatus is what list and show print as a certificate's state:
// valid, expired, revoked or on hold.
func certStatus(c *store.Certificate, now time.Time) string {
	switch {
	case c.Status == store.StatusRevoked && c.Reason == ca.ReasonCertificateHold:
		return "on-hold"
	case c.Status == store.StatusRevoked:
		return "revoked"
	case now.After(c.NotAfter):
		return "expired"
	}
	return "valid"
}

// certJSON is one certificate in --json output of list and show.
type certJSON struct {
	Serial         string     `json:"serial"`
	CA             string     `json:"ca,omitempty"`
	Subject        string     `json:"subject"`
	Issuer         string     `json:"issuer,omitempty"`
	Profile        string     `json:"profile,omitempty"`
	Status         string     `json:"status"`
	NotBefore      time.Time  `json:"not_before"`
	NotAfter       time.Time  `json:"not_after"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	InvalidityDate *time.Time `json:"invalidity_date,omitempty"`
	// Only in show:
	Key             string   `json:"key,omitempty"`
	SANs            []string `json:"sans,omitempty"`
	KeyUsage        []string `json:"key_usage,omitempty"`
	ExtKeyUsage     []string `json:"ext_key_usage,omitempty"`
	IsCA            *bool    `json:"is_ca,omitempty"`
	SubjectKeyID    string   `json:"subject_key_id,omitempty"`
	AuthorityKeyID  string   `json:"authority_key_id,omitempty"`
	CRLDistribution []string `json:"crl_distribution_points,omitempty"`
	OCSP            []string `json:"ocsp,omitempty"`
	CAIssuers       []string `json:"ca_issuers,omitempty"`
	InStore         *bool    `json:"in_store,omitempty"`
}

func recordJSON(c *store.Certificate, now time.Time) *certJSON {
	j := &certJSON{Serial: c.Serial, CA: c.CAID, Subject: c.Subject, Profile: c.Profile, Status: certStatus(c, now),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
	if c.Status == store.StatusRevoked {
		at := c.RevokedAt.UTC()
		j.RevokedAt, j.Reason = &at, ca.ReasonName(c.Reason)
		if !c.InvalidityDate.IsZero() {
			inv := c.InvalidityDate.UTC()
			j.InvalidityDate = &inv
		}
	}
	return j
}

// addCertDetails fills the fields only show prints from the certificate.
func addCertDetails(j *certJSON, c *x509.Certificate) {
	j.Subject, j.Issuer = certSubject(c), certIssuer(c)
	j.NotBefore, j.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
	j.Key = keyDescription(c)
	if s := sanList(c); s != "" {
		j.SANs = strings.Split(s, ",")
	}
	j.KeyUsage, j.ExtKeyUsage = keyUsages(c.KeyUsage), extKeyUsages(c)
	isCA := c.IsCA
	j.IsCA = &isCA
	j.SubjectKeyID, j.AuthorityKeyID = strings.ToUpper(hex.EncodeToString(c.SubjectKeyId)), strings.ToUpper(hex.EncodeToString(c.AuthorityKeyId))
	j.CRLDistribution, j.OCSP, j.CAIssuers = c.CRLDistributionPoints, c.OCSPServer, c.IssuingCertificateURL
}
