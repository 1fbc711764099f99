package doctor

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/pkid/pkid/lint"
)

// maxName bounds how much of a name the report repeats: a 64 KB subject is
// an attack or a bug, not something to print.
const maxName = 1024

// Certificate summarises one certificate as seen on the wire.
type Certificate struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"` // upper-case hex
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// KeyType is "RSA", "EC", "Ed25519" or the algorithm's name; KeyBits
	// its size (the curve size for EC).
	KeyType    string   `json:"key_type"`
	KeyBits    int      `json:"key_bits,omitempty"`
	Curve      string   `json:"curve,omitempty"`
	Signature  string   `json:"signature"`
	IsCA       bool     `json:"is_ca"`
	KeyUsage   []string `json:"key_usage,omitempty"`
	ExtKeyUse  []string `json:"ext_key_usage,omitempty"`
	SKI        string   `json:"ski,omitempty"`
	AKI        string   `json:"aki,omitempty"`
	SANs       []string `json:"sans,omitempty"`
	OCSP       []string `json:"ocsp,omitempty"`
	CAIssuers  []string `json:"ca_issuers,omitempty"`
	CRLs       []string `json:"crl_distribution_points,omitempty"`
	SelfSigned bool     `json:"self_signed"`
	// Lint holds what package lint found, worst first.
	Lint []lint.Finding `json:"lint,omitempty"`

	cert *x509.Certificate
}

// X509 returns the parsed certificate (nil if it could not be parsed).
func (c *Certificate) X509() *x509.Certificate { return c.cert }

// summarize describes cert and lints it; issuers are the other certificates
// sent alongside it.
func summarize(cert *x509.Certificate, issuers []*x509.Certificate, purpose lint.Purpose, now func() time.Time) Certificate {
	c := Certificate{
		Subject:    bounded(nameOf(cert.Subject)),
		Issuer:     bounded(nameOf(cert.Issuer)),
		Serial:     serialHex(cert),
		NotBefore:  cert.NotBefore.UTC(),
		NotAfter:   cert.NotAfter.UTC(),
		Signature:  cert.SignatureAlgorithm.String(),
		IsCA:       cert.BasicConstraintsValid && cert.IsCA,
		KeyUsage:   keyUsageNames(cert.KeyUsage),
		ExtKeyUse:  extKeyUsageNames(cert),
		SKI:        hexColon(cert.SubjectKeyId),
		AKI:        hexColon(cert.AuthorityKeyId),
		OCSP:       boundedList(cert.OCSPServer),
		CAIssuers:  boundedList(cert.IssuingCertificateURL),
		CRLs:       boundedList(cert.CRLDistributionPoints),
		SelfSigned: string(cert.RawIssuer) == string(cert.RawSubject),
		cert:       cert,
	}
	c.KeyType, c.KeyBits, c.Curve = keyInfo(cert.PublicKey)
	for _, d := range cert.DNSNames {
		c.SANs = append(c.SANs, "DNS:"+d)
	}
	for _, ip := range cert.IPAddresses {
		c.SANs = append(c.SANs, "IP:"+ip.String())
	}
	for _, e := range cert.EmailAddresses {
		c.SANs = append(c.SANs, "email:"+e)
	}
	for _, u := range cert.URIs {
		c.SANs = append(c.SANs, "URI:"+u.String())
	}
	c.SANs = boundedList(c.SANs)
	c.Lint = lint.Certificate(cert.Raw, lint.Options{Now: now, Issuers: issuers, Purpose: purpose})
	return c
}

func nameOf(n pkix.Name) string {
	s := n.String()
	if s == "" {
		return "(empty)"
	}
	return s
}

func bounded(s string) string {
	if len(s) > maxName {
		return s[:maxName] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

func boundedList(l []string) []string {
	const maxItems = 64
	var out []string
	for i, s := range l {
		if i == maxItems {
			out = append(out, fmt.Sprintf("... (%d more)", len(l)-maxItems))
			break
		}
		out = append(out, bounded(s))
	}
	return out
}

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return strings.ToUpper(c.SerialNumber.Text(16))
}

func hexColon(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// keyInfo names a public key's type and size.
func keyInfo(pub any) (typ string, bits int, curve string) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen(), ""
	case *ecdsa.PublicKey:
		return "EC", k.Curve.Params().BitSize, k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519", 256, ""
	case nil:
		return "unknown", 0, ""
	}
	return fmt.Sprintf("%T", pub), 0, ""
}

var keyUsages = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "nonRepudiation"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

func keyUsageNames(ku x509.KeyUsage) []string {
	var out []string
	for _, u := range keyUsages {
		if ku&u.bit != 0 {
			out = append(out, u.name)
		}
	}
	return out
}

var extKeyUsages = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any",
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSPSigning",
}

func extKeyUsageNames(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.ExtKeyUsage {
		if n, ok := extKeyUsages[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("eku(%d)", int(u)))
		}
	}
	for _, o := range c.UnknownExtKeyUsage {
		out = append(out, o.String())
	}
	return out
}

// hasEKU reports whether cert may be used for eku (no EKU extension means
// any use).
func hasEKU(cert *x509.Certificate, eku x509.ExtKeyUsage) bool {
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range cert.ExtKeyUsage {
		if u == eku || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// dnString renders a DER DistinguishedName as OpenSSL-style RFC 4514 text.
func dnString(der []byte) string {
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &rdn); err != nil {
		return "(unparsable name " + hex.EncodeToString(der[:min(len(der), 32)]) + ")"
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return bounded(nameOf(n))
}
