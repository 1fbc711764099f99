package lint

import (
	"crypto"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/testkey"
)

var update = flag.Bool("update", false, "rewrite the committed fuzz seed corpus under testdata/fuzz")

// fuzzSeeds are valid and broken objects: a chain with a CRL in PEM, DER
// certificates and CRLs (v1 and v2), and truncations.
func fuzzSeeds(t testing.TB) map[string][]byte {
	ca := newCA(t)
	key := testkey.New(t, "p256")
	leaf := sign(t, serverTemplate(t, key), key, ca)
	crl := goodCRL(t, ca)
	v1 := makeCRL(t, ca, 0, nil, testNow.Add(-time.Hour), testNow.Add(time.Hour), crypto.SHA256)
	rsaKey := testkey.New(t, "rsa2048")
	rsaLeaf := sign(t, serverTemplate(t, rsaKey), rsaKey, ca)
	return map[string][]byte{
		"pem_chain_crl": append(append(pemBlock("CERTIFICATE", leaf.der), pemBlock("CERTIFICATE", ca.der)...), pemBlock("X509 CRL", crl)...),
		"der_leaf":      leaf.der,
		"der_rsa_leaf":  rsaLeaf.der,
		"der_crl":       crl,
		"der_crl_v1":    v1,
		"truncated":     leaf.der[:len(leaf.der)-10],
		"pem_garbage":   pemBlock("CERTIFICATE", []byte{0x30, 0x82, 0xff, 0xff, 0x00}),
		"text":          []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"),
	}
}

// TestFuzzSeedCorpus keeps the committed corpus present; with -update it
// rewrites it.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzFile")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range fuzzSeeds(t) {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no seed corpus in %s (run go test -run TestFuzzSeedCorpus -update): %v", dir, err)
	}
}

// FuzzFile feeds arbitrary bytes to File, Certificate and CRL: lint parses
// untrusted input and must never panic, and every finding it returns must be
// well formed.
func FuzzFile(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	opts := testOpts()
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(fs []Finding) {
			for _, x := range fs {
				if x.ID == "" || x.Object == "" || x.Message == "" || x.Severity.Rank() < 0 {
					t.Fatalf("malformed finding %+v", x)
				}
			}
		}
		fs, err := File(data, opts)
		if err == nil {
			check(fs)
		}
		check(Certificate(data, opts))
		check(CRL(data, opts))
	})
}
