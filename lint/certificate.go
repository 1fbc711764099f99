package lint

import (
	"bytes"
	"crypto/x509"
	stdpkix "crypto/x509/pkix"
	stdasn1 "encoding/asn1"
	"errors"
	"fmt"
	"github.com/zmap/zcrypto/encoding/asn1"
	"github.com/zmap/zcrypto/rsa"
	"math/big"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ed25519"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zcrypto/x509/pkix"
)

// IDs of pkid's own certificate checks.
const (
	idUnparsableCertificate         = "pkid_unparsable_certificate"
	idCAWithoutKeyUsage             = "pkid_ca_without_key_usage"
	idCAWithoutCRLSign              = "pkid_ca_without_crlsign"
	idCAWithoutKeyCertSign          = "pkid_ca_without_keycertsign"
	idCABasicConstraintsMissing     = "pkid_ca_basic_constraints_missing"
	idCABasicConstraintsNotCritical = "pkid_ca_basic_constraints_not_critical"
	idCAWithoutSKI                  = "pkid_ca_without_ski"
	idMissingAKI                    = "pkid_missing_aki"
	idAKIMismatch                   = "pkid_aki_mismatch"
	idServerWithoutSAN              = "pkid_server_without_san"
	idServerWithoutServerAuth       = "pkid_server_without_serverauth"
	idClientWithoutClientAuth       = "pkid_client_without_clientauth"
	idWeakRSAKey                    = "pkid_weak_rsa_key"
	idWeakECCurve                   = "pkid_weak_ec_curve"
	idWeakSignature                 = "pkid_weak_signature"
	idExpired                       = "pkid_expired"
	idNotYetValid                   = "pkid_not_yet_valid"
	idValidityExceedsIssuer         = "pkid_validity_exceeds_issuer"
	idECKeyEncipherment             = "pkid_ec_key_encipherment"
	idTLSWithoutDigitalSignature    = "pkid_tls_without_digital_signature"
)

var (
	oidExtKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
)

// Certificate lints one DER-encoded X.509 certificate. It never panics and
// never fails: a certificate that cannot be parsed yields an Error finding
// saying why. Findings come worst first.
func Certificate(der []byte, opts Options) []Finding {
	c, err := parseCertificate(der)
	if err != nil {
		return []Finding{unparsableCertificate(der, err)}
	}
	if opts.Issuer == nil && !bytes.Equal(c.RawIssuer, c.RawSubject) {
		opts.Issuer = pickIssuer(opts.Issuers, c.RawIssuer)
	}
	// The object's name is only formatted when there is something to
	// report: the clean certificate is the hot path.
	fs := checkCertificate(c, opts)
	fs = append(fs, zlintCertificate(c)...)
	if len(fs) == 0 {
		return nil
	}
	fs = dropDuplicates(fs)
	setObject(fs, certificateObject(c.RawSubject, c.SerialNumber))
	sortFindings(fs)
	return fs
}

// parseCertificate parses der with zcrypto, the parser zlint needs, turning
// a panic on hostile input into an error.
func parseCertificate(der []byte) (c *zx509.Certificate, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("x509 parser panicked: %v", r)
		}
	}()
	return zx509.ParseCertificate(der)
}

func unparsableCertificate(der []byte, err error) Finding {
	obj := fmt.Sprintf("certificate (unparsable, %d bytes)", len(der))
	if errors.Is(err, zx509.ErrUnsupportedEllipticCurve) {
		return Finding{
			Severity: Error,
			ID:       idWeakECCurve,
			Source:   "pkid",
			Object:   obj,
			Message:  "The public key is on an elliptic curve that common TLS stacks do not support (only P-256, P-384 and P-521 are interoperable), so peers cannot use it.",
			Fix:      "Issue a new key on P-256 or P-384 (pkid issue --key-type ecdsa-p256) and a certificate for it.",
		}
	}
	return Finding{
		Severity: Error,
		ID:       idUnparsableCertificate,
		Source:   "pkid",
		Object:   obj,
		Message:  fmt.Sprintf("The data is not a valid DER X.509 certificate (%v), so no TLS stack will accept it.", err),
		Fix:      "Check that the file holds a certificate (PEM \"CERTIFICATE\" block or DER) and was not truncated or altered in transit.",
	}
}

// certificateObject names a certificate by subject (formatted as
// crypto/x509 does, RFC 4514 order) and serial (hex, as openssl prints it).
func certificateObject(rawSubject []byte, serialNumber *big.Int) string {
	subject := nameString(rawSubject)
	if subject == "" {
		subject = "(empty subject)"
	}
	serial := "?"
	if serialNumber != nil {
		serial = strings.ToUpper(serialNumber.Text(16))
	}
	return "certificate " + subject + ", serial " + serial
}

// nameString formats a DER Name the way crypto/x509 does.
func nameString(raw []byte) string {
	var rdn stdpkix.RDNSequence
	if _, err := stdasn1.Unmarshal(raw, &rdn); err != nil {
		return ""
	}
	var n stdpkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

// setObject names the object on findings made before it was known.
func setObject(fs []Finding, obj string) {
	for i := range fs {
		if fs[i].Object == "" {
			fs[i].Object = obj
		}
	}
}

// pickIssuer returns the candidate whose subject is rawIssuer.
func pickIssuer(candidates []*x509.Certificate, rawIssuer []byte) *x509.Certificate {
	for _, c := range candidates {
		if c != nil && bytes.Equal(c.RawSubject, rawIssuer) {
			return c
		}
	}
	return nil
}

func findExtension(exts []pkix.Extension, oid asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return e, true
		}
	}
	return pkix.Extension{}, false
}

// checkCertificate runs pkid's own certificate checks.
func checkCertificate(c *zx509.Certificate, opts Options) []Finding {
	var fs []Finding
	add := func(sev Severity, id, msg, fix string) {
		fs = append(fs, Finding{Severity: sev, ID: id, Source: "pkid", Message: msg, Fix: fix})
	}

	_, hasKU := findExtension(c.Extensions, oidExtKeyUsage)
	bcExt, hasBC := findExtension(c.Extensions, oidExtBasicConstraints)
	isCA := c.BasicConstraintsValid && c.IsCA
	selfIssued := bytes.Equal(c.RawSubject, c.RawIssuer)
	selfSigned := selfIssued && (len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId))

	// CA flags and key usage (RFC 5280 4.2.1.3, 4.2.1.9).
	if c.KeyUsage&zx509.KeyUsageCertSign != 0 && !isCA {
		add(Error, idCABasicConstraintsMissing,
			"The certificate has keyCertSign in keyUsage but no basicConstraints with cA=TRUE, so verifiers will not accept it as the issuer of other certificates.",
			"Reissue the CA with a critical basicConstraints extension cA=TRUE (OpenSSL: basicConstraints = critical, CA:true), or drop keyCertSign if it is not meant to be a CA.")
	}
	if isCA {
		if hasBC && !bcExt.Critical {
			add(Error, idCABasicConstraintsNotCritical,
				"The CA's basicConstraints extension is not marked critical (RFC 5280 4.2.1.9 requires it), and strict verifiers such as IBM GSKit reject the chain.",
				"Reissue the CA with basicConstraints marked critical (OpenSSL: basicConstraints = critical, CA:true).")
		}
		if !hasKU {
			add(Error, idCAWithoutKeyUsage,
				"The CA certificate has no keyUsage extension, so stacks that check CA key usage (IBM GSKit, some Java and OpenSSL configurations) refuse the certificates and CRLs it signs.",
				"Reissue the CA with keyUsage = critical, keyCertSign, cRLSign (pkid init sets this by default).")
		} else {
			if c.KeyUsage&zx509.KeyUsageCertSign == 0 {
				add(Error, idCAWithoutKeyCertSign,
					"The CA certificate lacks keyCertSign in keyUsage, so verifiers reject every certificate it has signed.",
					"Reissue the CA with keyUsage = critical, keyCertSign, cRLSign and redistribute it.")
			}
			if c.KeyUsage&zx509.KeyUsageCRLSign == 0 {
				add(Error, idCAWithoutCRLSign,
					"The CA certificate lacks cRLSign in keyUsage, so stacks that check revocation refuse its CRLs (IBM GSKit: \"crlSign bit is not set in KeyUsage\") and connections fail once CRL checking is on.",
					"Reissue the CA with keyUsage = critical, keyCertSign, cRLSign (OpenSSL config: keyUsage = critical, keyCertSign, cRLSign), redistribute it and reissue the certificates it signed.")
			}
		}
		if len(c.SubjectKeyId) == 0 {
			add(Error, idCAWithoutSKI,
				"The CA certificate has no subject key identifier, so the certificates it issues cannot carry a matching authority key identifier and chain building fails on stacks that rely on it (z/OS System SSL, Windows).",
				"Reissue the CA with subjectKeyIdentifier = hash (pkid init adds it by default).")
		}
	}

	// Authority key identifier (RFC 5280 4.2.1.1).
	if !selfIssued && len(c.AuthorityKeyId) == 0 {
		add(Error, idMissingAKI,
			"The certificate has no authority key identifier, so z/OS System SSL (GSKit) fails the handshake with alert 42 bad_certificate and other stacks may pick the wrong issuer.",
			"Reissue it from a CA that adds authorityKeyIdentifier = keyid (OpenSSL: authorityKeyIdentifier = keyid,issuer; pkid always adds it).")
	}
	if opts.Issuer != nil && len(c.AuthorityKeyId) > 0 && len(opts.Issuer.SubjectKeyId) > 0 &&
		!bytes.Equal(c.AuthorityKeyId, opts.Issuer.SubjectKeyId) {
		add(Error, idAKIMismatch,
			fmt.Sprintf("The authority key identifier (%X) does not match the given issuer's subject key identifier (%X), so verifiers will not chain the certificate to that CA.", c.AuthorityKeyId, opts.Issuer.SubjectKeyId),
			"Check that the right issuing CA is used; if the CA was rekeyed, distribute the CA certificate that signed this one or reissue the certificate.")
	}

	// TLS roles (RFC 5280 4.2.1.6, 4.2.1.12).
	hasEKU := len(c.ExtKeyUsage)+len(c.UnknownExtKeyUsage) > 0
	serverAuth, clientAuth, anyEKU := false, false, false
	for _, u := range c.ExtKeyUsage {
		switch u {
		case zx509.ExtKeyUsageServerAuth:
			serverAuth = true
		case zx509.ExtKeyUsageClientAuth:
			clientAuth = true
		case zx509.ExtKeyUsageAny:
			anyEKU = true
		}
	}
	hostSANs := len(c.DNSNames) + len(c.IPAddresses)
	cnHost := looksLikeHostname(c.Subject.CommonName)
	if !isCA {
		explicitServer := serverAuth || opts.Purpose == PurposeServer
		if hostSANs == 0 && (explicitServer || (!hasEKU && cnHost)) {
			sev := Error
			if !explicitServer {
				sev = Warning
			}
			add(sev, idServerWithoutSAN,
				"The server certificate has no DNS or IP subjectAltName, and modern clients (browsers, Go, Java, OpenSSL with hostname checks) ignore the common name, so hostname verification fails.",
				"Reissue it with the host names and addresses in subjectAltName (pkid issue --profile server --san DNS:host.example,IP:10.0.0.1).")
		}
		if hasEKU && !serverAuth && !anyEKU {
			switch {
			case opts.Purpose == PurposeServer:
				add(Error, idServerWithoutServerAuth,
					"The certificate is used by a TLS server but its extendedKeyUsage lacks serverAuth, so clients reject it (OpenSSL: \"unsupported certificate purpose\").",
					"Reissue it with extendedKeyUsage serverAuth (pkid issue --profile server or client-server).")
			case opts.Purpose == PurposeUnknown && !clientAuth && hostSANs > 0:
				add(Warning, idServerWithoutServerAuth,
					"The certificate names hosts but its extendedKeyUsage lacks serverAuth, so TLS clients reject it if a server presents it.",
					"If it is meant for a TLS server, reissue it with extendedKeyUsage serverAuth (pkid issue --profile server).")
			}
		}
		if opts.Purpose == PurposeClient && hasEKU && !clientAuth && !anyEKU {
			add(Error, idClientWithoutClientAuth,
				"The certificate is used as a TLS client certificate but its extendedKeyUsage lacks clientAuth, so servers reject it (alert 42 bad_certificate or 43 unsupported_certificate).",
				"Reissue it with extendedKeyUsage clientAuth (pkid issue --profile client or client-server).")
		}
	}

	tlsUse := serverAuth || clientAuth || opts.Purpose != PurposeUnknown
	if !isCA && hasKU && tlsUse && c.KeyUsage&zx509.KeyUsageDigitalSignature == 0 {
		add(Error, idTLSWithoutDigitalSignature,
			"The TLS certificate's keyUsage lacks digitalSignature, so its key may not sign the handshake: peers that enforce key usage (OpenSSL, GSKit, Java) abort with alert 42 bad_certificate or 43 unsupported_certificate, except for legacy RSA key exchange.",
			"Reissue it with keyUsage digitalSignature (plus keyEncipherment for RSA keys); pkid's server and client profiles set it.")
	}

	// Keys and signatures.
	isEC := false
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N != nil && k.N.BitLen() < 2048 {
			add(Error, idWeakRSAKey,
				fmt.Sprintf("The RSA key has %d bits; OpenSSL 3 (security level 2), Java and Go refuse RSA keys under 2048 bits.", k.N.BitLen()),
				"Generate a new key of at least 2048 bits (pkid issue --key-type rsa2048, or ecdsa-p256) and reissue the certificate.")
		}
	case *zx509.AugmentedECDSA:
		isEC = true
		if k.Pub != nil && k.Pub.Curve != nil && k.Pub.Curve.Params().BitSize < 256 {
			add(Error, idWeakECCurve,
				fmt.Sprintf("The EC key is on %s, which is below 128-bit security and unsupported by common TLS stacks (only P-256, P-384 and P-521 are interoperable).", k.Pub.Curve.Params().Name),
				"Generate a new key on P-256 or P-384 (pkid issue --key-type ecdsa-p256) and reissue the certificate.")
		}
	case ed25519.PublicKey:
		isEC = true
	}
	if isEC && c.KeyUsage&zx509.KeyUsageKeyEncipherment != 0 {
		add(Error, idECKeyEncipherment,
			"The certificate allows keyEncipherment for an elliptic-curve key, which cannot encrypt keys (RFC 8813, RFC 8410); strict stacks reject the certificate.",
			"Reissue it with keyUsage digitalSignature only (pkid's profiles do this per key type).")
	}
	switch c.SignatureAlgorithm {
	case zx509.MD2WithRSA, zx509.MD5WithRSA, zx509.SHA1WithRSA, zx509.DSAWithSHA1, zx509.ECDSAWithSHA1:
		if selfSigned {
			add(Warning, idWeakSignature,
				fmt.Sprintf("The self-signed certificate is signed with %s; a trust anchor's own signature is rarely checked, but some tools and policies refuse it.", c.SignatureAlgorithm),
				"Re-sign the root with SHA-256 or stronger when it is next rolled over.")
		} else {
			add(Error, idWeakSignature,
				fmt.Sprintf("The certificate is signed with %s, which OpenSSL 3, Go, Java and browsers reject as forgeable.", c.SignatureAlgorithm),
				"Reissue it signed with SHA-256 or stronger (every pkid key type does this).")
		}
	}

	// Validity (RFC 5280 4.1.2.5).
	now := opts.now()
	if now.After(c.NotAfter) {
		add(Error, idExpired,
			fmt.Sprintf("The certificate expired on %s, so every peer rejects it.", c.NotAfter.UTC().Format(time.RFC3339)),
			"Issue a new certificate (pkid issue) and deploy it.")
	}
	if now.Before(c.NotBefore) {
		add(Error, idNotYetValid,
			fmt.Sprintf("The certificate is not valid before %s, so peers reject it until then (often a clock skew between the CA and its users).", c.NotBefore.UTC().Format(time.RFC3339)),
			"Check the clocks of the CA and the peers, or reissue the certificate with a notBefore in the past.")
	}
	if opts.Issuer != nil && c.NotAfter.After(opts.Issuer.NotAfter) {
		add(Warning, idValidityExceedsIssuer,
			fmt.Sprintf("The certificate is valid until %s, after its issuer expires (%s); it stops working when the issuer does, and some stacks reject it now.",
				c.NotAfter.UTC().Format(time.RFC3339), opts.Issuer.NotAfter.UTC().Format(time.RFC3339)),
			"Reissue it with a notAfter within the issuer's validity, or renew the issuing CA first.")
	}
	return fs
}

// looksLikeHostname reports whether a common name is a DNS name or an IP
// address, the way pre-SAN server certificates named their host.
func looksLikeHostname(cn string) bool {
	if cn == "" {
		return false
	}
	if net.ParseIP(cn) != nil {
		return true
	}
	if !strings.Contains(cn, ".") {
		return cn == "localhost"
	}
	for _, r := range cn {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '*', r == '_':
		default:
			return false
		}
	}
	return true
}
