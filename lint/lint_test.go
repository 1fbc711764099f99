package lint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/testkey"
)

// want names a finding a case must produce.
type want struct {
	id  string
	sev Severity
}

func findingIDs(fs []Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f.Severity)+":"+f.ID)
	}
	return strings.Join(s, ", ")
}

func checkFindings(t *testing.T, fs []Finding, wants []want, absent []string) {
	t.Helper()
	for _, w := range wants {
		found := false
		for _, f := range fs {
			if f.ID == w.id {
				found = true
				if f.Severity != w.sev {
					t.Errorf("%s: severity %s, want %s", w.id, f.Severity, w.sev)
				}
				if f.Source == "pkid" && (f.Message == "" || f.Fix == "") {
					t.Errorf("%s: pkid finding without message or fix: %+v", w.id, f)
				}
				if f.Object == "" {
					t.Errorf("%s: no object", w.id)
				}
			}
		}
		if !found {
			t.Errorf("missing finding %s; got [%s]", w.id, findingIDs(fs))
		}
	}
	for _, id := range absent {
		for _, f := range fs {
			if f.ID == id {
				t.Errorf("finding %s should have been dropped or not raised; got [%s]", id, findingIDs(fs))
			}
		}
	}
	for i := 1; i < len(fs); i++ {
		if fs[i].Severity.Rank() > fs[i-1].Severity.Rank() {
			t.Errorf("findings not sorted worst first: [%s]", findingIDs(fs))
			break
		}
	}
}

// noErrorsOrWarnings fails when fs has an error or warning finding: what
// the CA's defaults must satisfy.
func noErrorsOrWarnings(t *testing.T, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Severity == Error || f.Severity == Warning {
			t.Errorf("unexpected %s %s: %s", f.Severity, f.ID, f.Message)
		}
	}
}

func TestCertificateClean(t *testing.T) {
	root := newCA(t)
	interTmpl := caTemplate(t, "pkid Test Issuing CA")
	interTmpl.MaxPathLenZero = true
	interTmpl.NotAfter = testNow.Add(5 * 365 * 24 * time.Hour)
	inter := sign(t, interTmpl, testkey.New(t, "p256"), root)

	t.Run("root", func(t *testing.T) { noErrorsOrWarnings(t, Certificate(root.der, testOpts())) })
	t.Run("issuing CA", func(t *testing.T) {
		o := testOpts()
		o.Issuer = root.cert
		noErrorsOrWarnings(t, Certificate(inter.der, o))
	})
	for _, kind := range []string{"p256", "p384", "rsa2048", "ed25519"} {
		t.Run("server "+kind, func(t *testing.T) {
			key := testkey.New(t, kind)
			leaf := sign(t, serverTemplate(t, key), key, inter)
			o := testOpts()
			o.Issuer = inter.cert
			o.Purpose = PurposeServer
			noErrorsOrWarnings(t, Certificate(leaf.der, o))
		})
	}
	t.Run("client p256", func(t *testing.T) {
		key := testkey.New(t, "p256")
		tm := serverTemplate(t, key)
		tm.Subject = pkix.Name{CommonName: "alice", Organization: []string{"pkid test"}}
		tm.DNSNames = nil
		tm.EmailAddresses = []string{"alice@example.com"}
		tm.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		leaf := sign(t, tm, key, inter)
		o := testOpts()
		o.Issuer = inter.cert
		o.Purpose = PurposeClient
		noErrorsOrWarnings(t, Certificate(leaf.der, o))
	})
}

func TestCertificateTraps(t *testing.T) {
	ca := newCA(t)
	otherCA := newCA(t)
	caKey := ca.key

	type tc struct {
		name   string
		build  func(t *testing.T) ([]byte, Options)
		wants  []want
		absent []string
	}
	leafWith := func(edit func(*x509.Certificate), kind string) func(t *testing.T) ([]byte, Options) {
		return func(t *testing.T) ([]byte, Options) {
			key := testkey.New(t, kind)
			tm := serverTemplate(t, key)
			edit(tm)
			o := testOpts()
			o.Issuer = ca.cert
			return sign(t, tm, key, ca).der, o
		}
	}
	caWith := func(edit func(*x509.Certificate)) func(t *testing.T) ([]byte, Options) {
		return func(t *testing.T) ([]byte, Options) {
			tm := caTemplate(t, "Broken CA")
			edit(tm)
			return sign(t, tm, testkey.New(t, "p256"), nil).der, testOpts()
		}
	}
	cases := []tc{
		{
			name:  "CA without cRLSign",
			build: caWith(func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature }),
			wants: []want{{idCAWithoutCRLSign, Error}},
		},
		{
			name:  "CA without keyCertSign",
			build: caWith(func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageCRLSign }),
			wants: []want{{idCAWithoutKeyCertSign, Error}},
		},
		{
			name:  "CA without keyUsage",
			build: caWith(func(c *x509.Certificate) { c.KeyUsage = 0 }),
			wants: []want{{idCAWithoutKeyUsage, Error}},
		},
		{
			name: "CA without SKI",
			build: func(t *testing.T) ([]byte, Options) {
				return resign(t, ca.der, caKey, crypto.SHA256, dropExt(asn1.ObjectIdentifier{2, 5, 29, 14})), testOpts()
			},
			wants:  []want{{idCAWithoutSKI, Error}},
			absent: []string{"e_ext_subject_key_identifier_missing_ca"},
		},
		{
			name: "CA basicConstraints not critical",
			build: func(t *testing.T) ([]byte, Options) {
				return resign(t, ca.der, caKey, crypto.SHA256, func(tb *tbsCert) {
					for i := range tb.Extensions {
						if tb.Extensions[i].Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 19}) {
							tb.Extensions[i].Critical = false
						}
					}
				}), testOpts()
			},
			wants:  []want{{idCABasicConstraintsNotCritical, Error}},
			absent: []string{"e_basic_constraints_not_critical"},
		},
		{
			name: "keyCertSign without basicConstraints",
			build: leafWith(func(c *x509.Certificate) {
				c.KeyUsage |= x509.KeyUsageCertSign
			}, "p256"),
			wants:  []want{{idCABasicConstraintsMissing, Error}},
			absent: []string{"e_ext_key_usage_cert_sign_without_ca"},
		},
		{
			name: "missing AKI",
			build: func(t *testing.T) ([]byte, Options) {
				parent := *ca.cert
				parent.SubjectKeyId = nil
				key := testkey.New(t, "p256")
				return sign(t, serverTemplate(t, key), key, &pair{cert: &parent, key: caKey}).der, testOpts()
			},
			wants: []want{{idMissingAKI, Error}},
		},
		{
			name: "AKI does not match issuer",
			build: func(t *testing.T) ([]byte, Options) {
				key := testkey.New(t, "p256")
				o := testOpts()
				o.Issuer = otherCA.cert
				return sign(t, serverTemplate(t, key), key, ca).der, o
			},
			wants: []want{{idAKIMismatch, Error}},
		},
		{
			name:  "serverAuth without SAN",
			build: leafWith(func(c *x509.Certificate) { c.DNSNames = nil }, "p256"),
			wants: []want{{idServerWithoutSAN, Error}},
		},
		{
			name: "hostname CN without SAN or EKU",
			build: leafWith(func(c *x509.Certificate) {
				c.DNSNames, c.ExtKeyUsage = nil, nil
			}, "p256"),
			wants: []want{{idServerWithoutSAN, Warning}},
		},
		{
			name: "server purpose without serverAuth",
			build: func(t *testing.T) ([]byte, Options) {
				der, o := leafWith(func(c *x509.Certificate) {
					c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
				}, "p256")(t)
				o.Purpose = PurposeServer
				return der, o
			},
			wants: []want{{idServerWithoutServerAuth, Error}},
		},
		{
			name: "host names with code-signing EKU only",
			build: leafWith(func(c *x509.Certificate) {
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
			}, "p256"),
			wants: []want{{idServerWithoutServerAuth, Warning}},
		},
		{
			name: "client purpose without clientAuth",
			build: func(t *testing.T) ([]byte, Options) {
				der, o := leafWith(func(*x509.Certificate) {}, "p256")(t)
				o.Purpose = PurposeClient
				return der, o
			},
			wants: []want{{idClientWithoutClientAuth, Error}},
		},
		{
			name: "server without digitalSignature",
			build: leafWith(func(c *x509.Certificate) {
				c.KeyUsage = x509.KeyUsageKeyAgreement
			}, "p256"),
			wants: []want{{idTLSWithoutDigitalSignature, Error}},
		},
		{
			name: "RSA server with keyEncipherment only",
			build: leafWith(func(c *x509.Certificate) {
				c.KeyUsage = x509.KeyUsageKeyEncipherment
			}, "rsa2048"),
			wants: []want{{idTLSWithoutDigitalSignature, Error}},
		},
		{
			name:  "RSA 1024",
			build: leafWith(func(*x509.Certificate) {}, "rsa1024"),
			wants: []want{{idWeakRSAKey, Error}},
		},
		{
			name:  "P-224",
			build: leafWith(func(*x509.Certificate) {}, "p224"),
			wants: []want{{idWeakECCurve, Error}},
		},
		{
			name: "SHA-1 signature",
			build: func(t *testing.T) ([]byte, Options) {
				der, o := leafWith(func(*x509.Certificate) {}, "p256")(t)
				return resign(t, der, caKey, crypto.SHA1, nil), o
			},
			wants: []want{{idWeakSignature, Error}},
		},
		{
			name: "SHA-1 self-signed root",
			build: func(t *testing.T) ([]byte, Options) {
				return resign(t, ca.der, caKey, crypto.SHA1, nil), testOpts()
			},
			wants: []want{{idWeakSignature, Warning}},
		},
		{
			name: "expired",
			build: leafWith(func(c *x509.Certificate) {
				c.NotBefore, c.NotAfter = testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour)
			}, "p256"),
			wants: []want{{idExpired, Error}},
		},
		{
			name: "not yet valid",
			build: leafWith(func(c *x509.Certificate) {
				c.NotBefore = testNow.Add(time.Hour)
			}, "p256"),
			wants: []want{{idNotYetValid, Error}},
		},
		{
			name: "outlives issuer",
			build: leafWith(func(c *x509.Certificate) {
				c.NotAfter = ca.cert.NotAfter.Add(24 * time.Hour)
			}, "p256"),
			wants: []want{{idValidityExceedsIssuer, Warning}},
		},
		{
			name: "keyEncipherment on P-256",
			build: leafWith(func(c *x509.Certificate) {
				c.KeyUsage |= x509.KeyUsageKeyEncipherment
			}, "p256"),
			wants:  []want{{idECKeyEncipherment, Error}},
			absent: []string{"e_ecdsa_allowed_ku", "n_ecdsa_ee_invalid_ku"},
		},
		{
			name: "keyEncipherment on Ed25519",
			build: leafWith(func(c *x509.Certificate) {
				c.KeyUsage |= x509.KeyUsageKeyEncipherment
			}, "ed25519"),
			wants: []want{{idECKeyEncipherment, Error}},
		},
		{
			name: "tiny ECDSA private key (zlint)",
			build: func(t *testing.T) ([]byte, Options) {
				x, y := elliptic.P256().ScalarBaseMult(big.NewInt(200).Bytes())
				pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
				tm := serverTemplate(t, testkey.New(t, "p256"))
				der, err := x509.CreateCertificate(nil, tm, ca.cert, pub, caKey)
				if err != nil {
					t.Fatal(err)
				}
				return der, testOpts()
			},
			wants: []want{{"e_ecdsa_small_private_key", Error}},
		},
		{
			name: "DNS SAN that is a space (zlint)",
			build: func(t *testing.T) ([]byte, Options) {
				der, o := leafWith(func(*x509.Certificate) {}, "p256")(t)
				return resign(t, der, caKey, crypto.SHA256, func(tb *tbsCert) {
					san, _ := asn1.Marshal([]asn1.RawValue{{Class: 2, Tag: 2, Bytes: []byte(" ")}})
					for i := range tb.Extensions {
						if tb.Extensions[i].Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
							tb.Extensions[i].Value = san
						}
					}
				}), o
			},
			wants: []want{{"e_ext_san_space_dns_name", Error}},
		},
		{
			name:  "garbage",
			build: func(t *testing.T) ([]byte, Options) { return []byte("not a certificate"), testOpts() },
			wants: []want{{idUnparsableCertificate, Error}},
		},
		{
			name:  "empty",
			build: func(t *testing.T) ([]byte, Options) { return nil, testOpts() },
			wants: []want{{idUnparsableCertificate, Error}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			der, o := c.build(t)
			fs := Certificate(der, o)
			checkFindings(t, fs, c.wants, c.absent)
			if !HasErrors(fs) && c.wants[0].sev == Error {
				t.Errorf("HasErrors = false for [%s]", findingIDs(fs))
			}
		})
	}
}

// TestCertificateConcurrent lints from many goroutines at once, as the CA's
// issuance service does; run with -race.
func TestCertificateConcurrent(t *testing.T) {
	ca := newCA(t)
	key := testkey.New(t, "p256")
	leaf := sign(t, serverTemplate(t, key), key, ca)
	root := sign(t, caTemplate(t, "Another Root"), testkey.New(t, "p256"), nil)
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			var err error
			for j := 0; j < 20; j++ {
				o := testOpts()
				o.Issuer = ca.cert
				if fs := Certificate(leaf.der, o); HasErrors(fs) {
					err = fmt.Errorf("clean leaf: %s", findingIDs(fs))
				}
				if fs := Certificate(root.der, testOpts()); HasErrors(fs) {
					err = fmt.Errorf("clean CA: %s", findingIDs(fs))
				}
			}
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
