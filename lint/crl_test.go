package lint

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/testkey"
)

func TestCRLClean(t *testing.T) {
	ca := newCA(t)
	o := testOpts()
	o.Issuer = ca.cert
	fs := CRL(goodCRL(t, ca), o)
	noErrorsOrWarnings(t, fs)
	// Without the issuer too.
	noErrorsOrWarnings(t, CRL(goodCRL(t, ca), testOpts()))
}

func TestCRLTraps(t *testing.T) {
	ca := newCA(t)
	otherCA := newCA(t)
	noCRLSignTmpl := caTemplate(t, "CA without cRLSign")
	noCRLSignTmpl.KeyUsage = x509.KeyUsageCertSign
	noCRLSign := sign(t, noCRLSignTmpl, testkey.New(t, "p256"), nil)

	this, next := testNow.Add(-time.Hour), testNow.Add(24*time.Hour)
	withIssuer := func(c *x509.Certificate) Options {
		o := testOpts()
		o.Issuer = c
		return o
	}
	cases := []struct {
		name   string
		build  func(t *testing.T) ([]byte, Options)
		wants  []want
		absent []string
	}{
		{
			name: "v1",
			build: func(t *testing.T) ([]byte, Options) {
				return makeCRL(t, ca, 0, nil, this, next, crypto.SHA256), testOpts()
			},
			wants: []want{{idCRLVersion1, Warning}, {idCRLWithoutNumber, Error}, {idCRLWithoutAKI, Error}},
		},
		{
			name: "without CRL number",
			build: func(t *testing.T) ([]byte, Options) {
				return makeCRL(t, ca, 1, []pkix.Extension{crlAKIExt(t, ca.cert.SubjectKeyId)}, this, next, crypto.SHA256), withIssuer(ca.cert)
			},
			wants:  []want{{idCRLWithoutNumber, Error}},
			absent: []string{"e_crl_missing_crl_number", idCRLVersion1, idCRLBadSignature},
		},
		{
			name: "without AKI",
			build: func(t *testing.T) ([]byte, Options) {
				return makeCRL(t, ca, 1, []pkix.Extension{crlNumberExt(t, 3)}, this, next, crypto.SHA256), testOpts()
			},
			wants:  []want{{idCRLWithoutAKI, Error}},
			absent: []string{"e_crl_has_authority_key_identifier"},
		},
		{
			name: "past nextUpdate",
			build: func(t *testing.T) ([]byte, Options) {
				return makeCRL(t, ca, 1, []pkix.Extension{crlAKIExt(t, ca.cert.SubjectKeyId), crlNumberExt(t, 3)},
					testNow.Add(-48*time.Hour), testNow.Add(-time.Hour), crypto.SHA256), testOpts()
			},
			wants: []want{{idCRLExpired, Error}},
		},
		{
			name: "thisUpdate in the future",
			build: func(t *testing.T) ([]byte, Options) {
				return makeCRL(t, ca, 1, []pkix.Extension{crlAKIExt(t, ca.cert.SubjectKeyId), crlNumberExt(t, 3)},
					testNow.Add(time.Hour), testNow.Add(48*time.Hour), crypto.SHA256), testOpts()
			},
			wants: []want{{idCRLNotYetValid, Error}},
		},
		{
			name: "SHA-1",
			build: func(t *testing.T) ([]byte, Options) {
				return makeCRL(t, ca, 1, []pkix.Extension{crlAKIExt(t, ca.cert.SubjectKeyId), crlNumberExt(t, 3)},
					this, next, crypto.SHA1), testOpts()
			},
			wants: []want{{idCRLWeakSignature, Error}},
		},
		{
			name: "issuer without cRLSign",
			build: func(t *testing.T) ([]byte, Options) {
				return makeCRL(t, noCRLSign, 1, []pkix.Extension{crlAKIExt(t, noCRLSign.cert.SubjectKeyId), crlNumberExt(t, 3)},
					this, next, crypto.SHA256), withIssuer(noCRLSign.cert)
			},
			wants:  []want{{idCRLIssuerWithoutCRLSign, Error}},
			absent: []string{idCRLBadSignature},
		},
		{
			name: "AKI of another CA",
			build: func(t *testing.T) ([]byte, Options) {
				return goodCRL(t, ca), withIssuer(otherCA.cert)
			},
			wants: []want{{idCRLAKIMismatch, Error}},
		},
		{
			name: "signed by the wrong key",
			build: func(t *testing.T) ([]byte, Options) {
				forged := &pair{cert: ca.cert, key: otherCA.key}
				return makeCRL(t, forged, 1, []pkix.Extension{crlAKIExt(t, ca.cert.SubjectKeyId), crlNumberExt(t, 3)},
					this, next, crypto.SHA256), withIssuer(ca.cert)
			},
			wants: []want{{idCRLBadSignature, Error}},
		},
		{
			name:  "garbage",
			build: func(t *testing.T) ([]byte, Options) { return []byte{0x30, 0x03, 0x02, 0x01, 0x01}, testOpts() },
			wants: []want{{idUnparsableCRL, Error}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			der, o := c.build(t)
			fs := CRL(der, o)
			checkFindings(t, fs, c.wants, c.absent)
			if !HasErrors(fs) {
				t.Errorf("HasErrors = false for [%s]", findingIDs(fs))
			}
		})
	}
}
