package revocation

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testdataDir finds ../shared/testdata (PKID_TESTDATA overrides) by walking
// up from the package directory; outside CI a missing directory skips.
func testdataDir(t *testing.T, sub string) string {
	t.Helper()
	if d := os.Getenv("PKID_TESTDATA"); d != "" {
		return filepath.Join(d, sub)
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "testdata", sub)
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("shared/testdata/%s not found beside the repository (set PKID_TESTDATA)", sub)
	}
	t.Skipf("shared/testdata/%s not found beside the repository; set PKID_TESTDATA to run it", sub)
	return ""
}

func pemCerts(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("parse certificate: %v", err)
		}
		out = append(out, c)
	}
}

// limboWant is the reason each expected-FAILURE case must fail for.
var limboWant = map[string]string{
	"crl::revoked-certificate-with-crl": "is revoked (unspecified at",
	"crl::crlnumber-missing":            "CRL has no CRL number",
	"crl::crlnumber-critical":           "CRL number extension is marked critical",
	"crl::issuer-missing-crlsign":       "lacks cRLSign in keyUsage",
}

// limboSkips lists crl:: cases deliberately not supported (none today).
var limboSkips = map[string]string{}

func TestLimboCRL(t *testing.T) {
	dir := testdataDir(t, "x509-limbo")
	raw, err := os.ReadFile(filepath.Join(dir, "limbo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var limbo struct {
		Testcases []struct {
			ID                     string   `json:"id"`
			ExpectedResult         string   `json:"expected_result"`
			TrustedCerts           []string `json:"trusted_certs"`
			UntrustedIntermediates []string `json:"untrusted_intermediates"`
			PeerCertificate        string   `json:"peer_certificate"`
			ValidationTime         *string  `json:"validation_time"`
			CRLs                   []string `json:"crls"`
		} `json:"testcases"`
	}
	if err := json.Unmarshal(raw, &limbo); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tc := range limbo.Testcases {
		if !strings.HasPrefix(tc.ID, "crl::") {
			continue
		}
		n++
		t.Run(tc.ID, func(t *testing.T) {
			if why, ok := limboSkips[tc.ID]; ok {
				t.Skip(why)
			}
			now := time.Now()
			if tc.ValidationTime != nil {
				now, err = time.Parse(time.RFC3339, *tc.ValidationTime)
				if err != nil {
					t.Fatal(err)
				}
			}
			roots, inter := x509.NewCertPool(), x509.NewCertPool()
			for _, c := range pemCerts(t, strings.Join(tc.TrustedCerts, "")) {
				roots.AddCert(c)
			}
			for _, c := range pemCerts(t, strings.Join(tc.UntrustedIntermediates, "")) {
				inter.AddCert(c)
			}
			leaf := pemCerts(t, tc.PeerCertificate)[0]
			var crls []*x509.RevocationList
			for _, p := range tc.CRLs {
				b, _ := pem.Decode([]byte(p))
				rl, err := x509.ParseRevocationList(b.Bytes)
				if err != nil {
					t.Fatalf("parse CRL: %v", err)
				}
				crls = append(crls, rl)
			}
			chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if err != nil {
				t.Fatalf("path building failed (not a revocation case): %v", err)
			}
			ck := New(Config{CRLs: crls, Time: func() time.Time { return now }})
			_, err = ck.CheckChain(context.Background(), chains[0])
			got := "SUCCESS"
			if err != nil {
				got = "FAILURE"
			}
			if got != tc.ExpectedResult {
				t.Errorf("got %s, want %s (err: %v)", got, tc.ExpectedResult, err)
			}
			if want := limboWant[tc.ID]; err != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("failed for the wrong reason: %v (want %q)", err, want)
			}
			t.Logf("%s: %v", got, err)
		})
	}
	if n != 8 {
		t.Errorf("found %d crl:: cases, expected 8", n)
	}
}

// pkitsSkips lists PKITS cases not run, with the reason.
var pkitsSkips = map[string]string{
	"4.14.4":  "Go's x509.ParseCertificate rejects the EE's CRL distribution point (nameRelativeToCRLIssuer), so no path can be built",
	"4.14.5":  "Go's x509.ParseCertificate rejects the EE's CRL distribution point (nameRelativeToCRLIssuer), so no path can be built",
	"4.14.29": "Go's x509.ParseCertificate rejects the EE's CRL distribution point (nameRelativeToCRLIssuer), so no path can be built",
}

// pkitsRejectedByParser are expected-invalid cases whose EE crypto/x509
// refuses to parse: the path is rejected before revocation checking.
// pkitsRevoked are the expected-invalid cases where the EE (or a CA of the
// path) is listed as revoked; every other expected-invalid case must end
// with an unknown status (no valid CRL), never a revocation.
var pkitsRevoked = map[string]bool{
	"4.4.2": true, "4.4.3": true, "4.4.18": true, "4.4.20": true,
	"4.14.2": true, "4.14.15": true, "4.14.16": true, "4.14.20": true, "4.14.21": true,
	"4.14.23": true, "4.14.31": true, "4.14.32": true, "4.14.34": true,
	"4.15.3": true, "4.15.4": true, "4.15.6": true, "4.15.9": true,
}

var pkitsRejectedByParser = map[string]bool{"4.4.15": true, "4.14.6": true}

func TestPKITS(t *testing.T) {
	dir := testdataDir(t, "nist-pkits")
	raw, err := os.ReadFile(filepath.Join(dir, "pkits-tests.json"))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		ValidationTime time.Time `json:"validation_time"`
		Tests          []struct {
			TestNumber    string   `json:"test_number"`
			Name          string   `json:"name"`
			Certs         []string `json:"certs"`
			CRLs          []string `json:"crls"`
			ExpectedValid bool     `json:"expected_valid"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(raw, &suite); err != nil {
		t.Fatal(err)
	}
	now := suite.ValidationTime
	for _, tc := range suite.Tests {
		if !strings.HasPrefix(tc.TestNumber, "4.4.") && !strings.HasPrefix(tc.TestNumber, "4.14.") && !strings.HasPrefix(tc.TestNumber, "4.15.") {
			continue
		}
		t.Run(tc.TestNumber+" "+tc.Name, func(t *testing.T) {
			if why, ok := pkitsSkips[tc.TestNumber]; ok {
				t.Skip(why)
			}
			var certs []*x509.Certificate
			for _, name := range tc.Certs {
				der, err := os.ReadFile(filepath.Join(dir, "certs", name+".crt"))
				if err != nil {
					t.Fatal(err)
				}
				c, err := x509.ParseCertificate(der)
				if err != nil && pkitsRejectedByParser[tc.TestNumber] && !tc.ExpectedValid {
					t.Logf("rejected by crypto/x509 before revocation checking: %v", err)
					return
				}
				if err != nil {
					t.Fatalf("parse %s: %v", name, err)
				}
				certs = append(certs, c)
			}
			var crls []*x509.RevocationList
			for _, name := range tc.CRLs {
				der, err := os.ReadFile(filepath.Join(dir, "crls", name+".crl"))
				if err != nil {
					t.Fatal(err)
				}
				rl, err := x509.ParseRevocationList(der)
				if err != nil {
					t.Fatalf("parse %s: %v", name, err)
				}
				crls = append(crls, rl)
			}
			roots, inter := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(certs[0])
			for _, c := range certs[1 : len(certs)-1] {
				inter.AddCert(c)
			}
			leaf := certs[len(certs)-1]
			chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if err != nil {
				t.Fatalf("path building failed: %v", err)
			}
			ck := New(Config{CRLs: crls, Certificates: certs[1:], Time: func() time.Time { return now }})
			_, err = ck.CheckChain(context.Background(), chains[0])
			if valid := err == nil; valid != tc.ExpectedValid {
				t.Errorf("valid=%v, want %v (err: %v)", valid, tc.ExpectedValid, err)
			}
			var re *RevokedError
			var ue *UnknownError
			if !tc.ExpectedValid && err != nil {
				if pkitsRevoked[tc.TestNumber] && !errors.As(err, &re) {
					t.Errorf("want a revocation, got %v", err)
				}
				if !pkitsRevoked[tc.TestNumber] && (errors.As(err, &re) || !errors.As(err, &ue)) {
					t.Errorf("want an unknown status, got %v", err)
				}
			}
			t.Logf("valid=%v revoked=%v err=%v", err == nil, errors.As(err, &re), err)
		})
	}
}
