package lint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/testkey"
	zx509 "github.com/zmap/zcrypto/x509"
	zl "github.com/zmap/zlint/v3/lint"
)

// smallKeyInstance returns a fresh instance of zlint's small-key lint with
// Bits set, as zlint's configuration would leave it.
func smallKeyInstance(t *testing.T, bits int) zl.CertificateLintInterface {
	t.Helper()
	l := zl.GlobalRegistry().CertificateLints().ByName(smallKeyLint)
	if l == nil {
		t.Fatalf("zlint has no %s", smallKeyLint)
	}
	inst := l.Lint()
	reflect.ValueOf(inst).Elem().FieldByName("Bits").SetInt(int64(bits))
	return inst
}

// ecCert is a parsed certificate as far as the small-key lint looks: its
// ECDSA public key d*G.
func ecCert(curve elliptic.Curve, d *big.Int) *zx509.Certificate {
	x, y := curve.ScalarBaseMult(d.Bytes())
	return &zx509.Certificate{PublicKeyAlgorithm: zx509.ECDSA,
		PublicKey: &zx509.AugmentedECDSA{Pub: &ecdsa.PublicKey{Curve: curve, X: x, Y: y}}}
}

// TestSmallKeyMatchesZlint: the table lookup gives zlint's own result
// (status and wording) for every weak key d and n-d of every curve, for
// keys just outside the searched range (including zlint's giant-step
// multiples) and for random keys, at pkid's setting and others.
func TestSmallKeyMatchesZlint(t *testing.T) {
	curves := []elliptic.Curve{elliptic.P224(), elliptic.P256(), elliptic.P384(), elliptic.P521()}
	for _, bits := range []int{3, 8} {
		inst := smallKeyInstance(t, bits)
		fast := newSmallKeyCheck(inst)
		if fast == nil {
			t.Fatalf("bits %d: no fast check", bits)
		}
		limit := int64(1) << bits
		m := int64(1) << (bits/2 + 4)
		var ds []int64
		for d := int64(1); d <= limit+3; d++ {
			ds = append(ds, d)
		}
		ds = append(ds, 2*m+1, 2*m+2, 4*m+2, 4*m+3, 4*limit)
		for _, curve := range curves {
			n := curve.Params().N
			var keys []*big.Int
			for _, d := range ds {
				keys = append(keys, big.NewInt(d), new(big.Int).Sub(n, big.NewInt(d)))
			}
			for i := 0; i < 8; i++ {
				k, err := ecdsa.GenerateKey(curve, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k.D)
			}
			weak := 0
			for _, d := range keys {
				c := ecCert(curve, d)
				if !inst.CheckApplies(c) {
					t.Fatalf("%s d=%s: zlint's CheckApplies says no", curve.Params().Name, d)
				}
				want := inst.Execute(c)
				got := fast.execute(c)
				if got == nil || got.Status != want.Status || got.Details != want.Details {
					t.Fatalf("bits %d %s d=%s: fast %+v, zlint %+v", bits, curve.Params().Name, d, got, want)
				}
				if want.Status == zl.Error {
					weak++
				}
			}
			if weak != 2*int(limit) { // d and n-d for every d in 1..limit
				t.Errorf("bits %d %s: %d weak keys reported, want %d", bits, curve.Params().Name, weak, 2*limit)
			}
		}
	}
}

// TestSmallKeyFallback: settings the table does not serve go to zlint.
func TestSmallKeyFallback(t *testing.T) {
	for _, bits := range []int{0, 1, smallKeyMaxBits + 1, 40} {
		if newSmallKeyCheck(smallKeyInstance(t, bits)) != nil {
			t.Errorf("bits %d: the table would stand in for zlint", bits)
		}
	}
}

// TestSmallKeyConfiguredFastPath: the lint set pkid runs uses the table at
// pkid's configuration (else the optimisation silently went away).
func TestSmallKeyConfiguredFastPath(t *testing.T) {
	r := zlints()
	set := r.certLintSet()
	defer r.certSets.Put(set)
	for i, l := range r.certLints {
		if l.Name == smallKeyLint {
			if set.fast[i] == nil {
				t.Fatal("the small-key lint runs zlint's search, not the table")
			}
			return
		}
	}
	t.Fatalf("%s is not among the lints pkid runs", smallKeyLint)
}

// referenceZlint runs every selected lint through zlint's own entry point
// (a fresh, configured instance per lint, zlint's Execute), the path pkid's
// lint set and fast checks must agree with.
func referenceZlint(c *zx509.Certificate) []Finding {
	r := zlints()
	var out []Finding
	for _, l := range r.certLints {
		if f, ok := zlintFinding(l.Execute(c, r.config), &l.LintMetadata, "", "Reissue the certificate"); ok {
			out = append(out, f)
		}
	}
	return out
}

// TestZlintPathMatchesReference: on certificates shaped like each pkid
// profile, for every key type, clean and deliberately bad (tiny private
// keys, keyEncipherment on EC, missing or broken SANs, a CA without SKI,
// SHA-1), pkid's zlint path reports exactly what zlint's own does.
func TestZlintPathMatchesReference(t *testing.T) {
	ca := newCA(t)
	profiles := map[string]func(*x509.Certificate){
		"server": func(c *x509.Certificate) {},
		"client": func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
			c.DNSNames = nil
			c.Subject = pkix.Name{CommonName: "alice", Organization: []string{"pkid"}}
		},
		"client-server": func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		},
		"ocsp-signing": func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
			c.DNSNames = nil
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}, Value: asn1.NullBytes}}
		},
		"sub-ca": func(c *x509.Certificate) {
			c.IsCA, c.BasicConstraintsValid, c.MaxPathLenZero = true, true, true
			c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
			c.ExtKeyUsage, c.DNSNames = nil, nil
		},
	}
	bad := map[string]func(*x509.Certificate){
		"clean":             func(c *x509.Certificate) {},
		"keyEncipherment":   func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageKeyEncipherment },
		"no SAN":            func(c *x509.Certificate) { c.DNSNames = nil },
		"bad DNS SAN":       func(c *x509.Certificate) { c.DNSNames = []string{"under_score..example", "*.*.example"} },
		"long validity":     func(c *x509.Certificate) { c.NotAfter = c.NotAfter.AddDate(20, 0, 0) },
		"no SKI":            func(c *x509.Certificate) { c.SubjectKeyId = nil },
		"empty subject":     func(c *x509.Certificate) { c.Subject = pkix.Name{} },
		"trailing space CN": func(c *x509.Certificate) { c.Subject.CommonName += " " },
		// Extensions pkid's profiles never write, so that the lints gated
		// on them (zlintGates) run and must agree too.
		"foreign extensions": func(c *x509.Certificate) {
			c.PermittedDNSDomains = []string{"example", ".bad..name"}
			c.ExcludedIPRanges = []*net.IPNet{{IP: net.IP{10, 0, 0, 0}, Mask: net.IPMask{255, 0, 0, 0}}}
			c.Policies = []x509.OID{mustOID(2, 5, 29, 32, 0), mustOID(2, 5, 29, 32, 0)}
			c.CRLDistributionPoints = []string{"ldap://crl.example/cn=x"}
			c.OCSPServer, c.IssuingCertificateURL = []string{"http://ocsp.example"}, []string{"ftp://ca.example/ca.crt"}
			ian, _ := asn1.Marshal([]asn1.RawValue{{Class: 2, Tag: 2, Bytes: []byte(" ")}, {Class: 2, Tag: 6, Bytes: []byte("rel/uri")}})
			c.ExtraExtensions = append(c.ExtraExtensions,
				pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 18}, Critical: true, Value: ian},
				pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 54}, Value: []byte{2, 1, 0}},                 // inhibitAnyPolicy
				pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 46}, Critical: true, Value: []byte{0x30, 0}}) // freshestCRL
		},
		"empty SAN extension": func(c *x509.Certificate) {
			c.DNSNames = nil
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: []byte{0x30, 0}})
		},
	}
	keys := []string{"p256", "p384", "p521", "rsa2048", "ed25519"}
	check := func(name string, der []byte) {
		t.Helper()
		c, err := parseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, want := zlintCertificate(c), referenceZlint(c)
		if !sameFindings(got, want) {
			t.Errorf("%s:\npkid  %+v\nzlint %+v", name, got, want)
		}
	}
	for pname, prof := range profiles {
		for _, kname := range keys {
			key := testkey.New(t, kname)
			for bname, b := range bad {
				tm := serverTemplate(t, key)
				prof(tm)
				b(tm)
				der, err := x509.CreateCertificate(rand.Reader, tm, ca.cert, key.Public(), ca.key)
				if err != nil {
					t.Fatalf("%s %s %s: %v", pname, kname, bname, err)
				}
				check(pname+" "+kname+" "+bname, der)
			}
		}
		// Tiny private keys on every curve, d and n-d.
		for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
			for _, d := range []int64{1, 2, 200, 256, 257, 513} {
				for _, neg := range []bool{false, true} {
					k := new(big.Int).SetInt64(d)
					if neg {
						k.Sub(curve.Params().N, k)
					}
					x, y := curve.ScalarBaseMult(k.Bytes())
					pub := &ecdsa.PublicKey{Curve: curve, X: x, Y: y}
					tm := serverTemplate(t, testkey.New(t, "p256"))
					prof(tm)
					var signer crypto.Signer = ca.key
					der, err := x509.CreateCertificate(rand.Reader, tm, ca.cert, pub, signer)
					if err != nil {
						t.Fatal(err)
					}
					check(pname+" "+curve.Params().Name+" d="+k.String(), der)
				}
			}
		}
	}
}

// sameFindings compares findings field by field; messages compare as
// multisets of words, because some zlint lints list key usages in map
// order (e_key_usage_and_extended_key_usage_inconsistent), so zlint's own
// wording varies between two runs on one certificate.
func sameFindings(a, b []Finding) bool {
	if len(a) != len(b) {
		return false
	}
	words := func(s string) string {
		f := strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(s))
		sort.Strings(f)
		return strings.Join(f, " ")
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Message != y.Message && words(x.Message) == words(y.Message) {
			x.Message = y.Message
		}
		if x != y {
			return false
		}
	}
	return true
}

func mustOID(ids ...uint64) x509.OID {
	o, err := x509.OIDFromInts(ids)
	if err != nil {
		panic(err)
	}
	return o
}
