package directory

import (
	"crypto/x509"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
)

// certEntry is one certificate of the CA database view.
func (p *PKI) certEntry(x *pkiCA, c *store.Certificate) *Entry {
	status := string(c.Status)
	if c.Status == store.StatusValid && p.now().After(c.NotAfter) {
		status = "expired"
	}
	e := &Entry{DN: p.certDN(x, c).String()}
	add := func(name string, vals ...[]byte) {
		e.Attributes = append(e.Attributes, Attribute{Type: name, Values: vals})
	}
	add("objectClass", bytesOf("top", "pkidCertificate")...)
	add("serialNumber", []byte(c.Serial))
	add("status", []byte(status))
	add("notBefore", []byte(generalizedTime(c.NotBefore)))
	add("notAfter", []byte(generalizedTime(c.NotAfter)))
	if c.Subject != "" {
		add("subject", []byte(c.Subject))
	}
	add("issuer", []byte(x.ca.Subject))
	if c.Profile != "" {
		add("certificateProfile", []byte(c.Profile))
	}
	if c.Status == store.StatusRevoked {
		add("revocationReason", []byte(ca.ReasonName(c.Reason)))
		add("revocationDate", []byte(generalizedTime(c.RevokedAt)))
	}
	if len(c.DER) > 0 {
		if sans := subjectAltNames(c.DER); len(sans) > 0 {
			add("subjectAltName", bytesOf(sans...)...)
		}
		add("userCertificate", c.DER)
	}
	return e
}

// subjectAltNames lists a certificate's SANs as OpenSSL spells them
// (DNS:, IP:, email:, URI:); none when the DER does not parse.
func subjectAltNames(der []byte) []string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range cert.DNSNames {
		out = append(out, "DNS:"+n)
	}
	for _, ip := range cert.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	for _, m := range cert.EmailAddresses {
		out = append(out, "email:"+m)
	}
	for _, u := range cert.URIs {
		out = append(out, "URI:"+u.String())
	}
	return out
}
