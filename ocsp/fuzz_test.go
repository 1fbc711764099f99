package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "regenerate testdata/fuzz/FuzzParseRequest from openssl and hand-made requests")

// FuzzParseRequest: the parser never panics, accepts only what it can
// account for, and a parsed request can be answered.
func FuzzParseRequest(f *testing.F) {
	f.Add(buildRequest(reqSpec{certIDs: [][]byte{rawCertID(oidSHA1, []byte{5, 0}, make([]byte, 20), make([]byte, 20), big.NewInt(1))}}))
	fx := newFixture(f, "p256", nil)
	f.Add(request(f, fx.ca1, crypto.SHA1, fx.good))
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := ParseRequest(der)
		if err != nil {
			var re *ResponseError
			if !errors.As(err, &re) || re.Status != MalformedRequest {
				t.Fatalf("error %v is not malformedRequest", err)
			}
			if _, st := fx.r.Respond(context.Background(), der); st != MalformedRequest {
				t.Fatalf("Respond gave %v for a request ParseRequest rejects", st)
			}
			return
		}
		if len(r.CertIDs) == 0 || len(r.CertIDs) > DefaultMaxCertIDs {
			t.Fatalf("%d CertIDs", len(r.CertIDs))
		}
		if r.NonceExtnValue != nil && (len(r.Nonce) == 0 || len(r.Nonce) > MaxNonceLen) {
			t.Fatalf("nonce of %d octets accepted", len(r.Nonce))
		}
		for _, c := range r.CertIDs {
			if !bytes.Contains(der, c.Raw) || len(c.Serial) == 0 || len(c.Serial) > maxSerialLen {
				t.Fatalf("bad CertID %+v", c)
			}
			c.SerialNumber()
		}
		if _, st := fx.r.Respond(context.Background(), der); st == MalformedRequest || st == InternalError {
			t.Fatalf("Respond gave %v for a request ParseRequest accepts", st)
		}
	})
}

// TestUpdateFuzzCorpus writes the seed corpus: requests made by `openssl
// ocsp -reqout` and hand-made ones for the optional fields. Run with
// go test -run TestUpdateFuzzCorpus -update-corpus.
func TestUpdateFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to regenerate the seed corpus")
	}
	e := newOpenSSLEnv(t, "p256")
	f := e.fixture
	dir := filepath.Join("testdata", "fuzz", "FuzzParseRequest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, der []byte) {
		b := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", der)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ca1, ca2 := e.files[f.ca1.cert], e.files[f.ca2.cert]
	for name, args := range map[string][]string{
		"openssl-sha1-nononce":  {"-issuer", ca1, "-cert", e.files[f.good], "-no_nonce"},
		"openssl-sha1-nonce":    {"-issuer", ca1, "-cert", e.files[f.good]},
		"openssl-sha256-nonce":  {"-sha256", "-issuer", ca1, "-cert", e.files[f.good]},
		"openssl-sha512-three":  {"-sha512", "-issuer", ca1, "-cert", e.files[f.good], "-cert", e.files[f.revoked], "-cert", e.files[f.unissued]},
		"openssl-two-issuers":   {"-issuer", ca1, "-cert", e.files[f.good], "-issuer", ca2, "-cert", e.files[f.good2], "-no_nonce"},
		"openssl-serial-nonce8": {"-issuer", ca1, "-serial", "0x1234", "-nonce"},
	} {
		out := filepath.Join(e.dir, name+".der")
		if _, _, err := e.run(t, append(args, "-reqout", out)...); err != nil {
			t.Fatal(err)
		}
		der, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		write(name, der)
	}
	id := certIDOf(t, f.ca1, crypto.SHA1, f.good.SerialNumber)
	zero := int64(0)
	write("hand-signed-requestor", buildRequest(reqSpec{version: &zero, requestor: true, signed: true, certIDs: [][]byte{id}}))
	write("hand-raw-nonce", buildRequest(reqSpec{certIDs: [][]byte{id}, exts: [][]byte{extension(oidNonce, false, []byte("0123456789abcdef"))}}))
	write("hand-critical-ext", buildRequest(reqSpec{certIDs: [][]byte{id}, exts: [][]byte{extension([]byte{0x2a, 3, 4}, true, []byte{5, 0})}}))
	write("hand-unknown-hash", buildRequest(reqSpec{certIDs: [][]byte{rawCertID([]byte{0x2a, 3, 4}, []byte{5, 0}, []byte{1}, []byte{2}, big.NewInt(-5))}}))
}
