package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/store"
	"software.sslmate.com/src/go-pkcs12"
)

func exportTestPEMCerts(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := crlTestPKI(t)
	leaf := crlTestLeaf(t, svc, "export me")
	root, _ := st.CA(ctx, "root")
	issuing, _ := st.CA(ctx, "issuing")
	names := func(certs []*x509.Certificate) string {
		var s []string
		for _, c := range certs {
			s = append(s, c.Subject.CommonName)
		}
		return strings.Join(s, " > ")
	}
	rootCN := exportTestPEMCerts(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.CertDER}))[0].Subject.CommonName
	issCN := exportTestPEMCerts(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuing.CertDER}))[0].Subject.CommonName

	cases := []struct {
		name string
		req  ExportRequest
		want string // CNs in order
	}{
		{"leaf pem", ExportRequest{Serial: leaf.Serial, Format: ExportPEM}, "export me"},
		{"leaf pem lower-case serial", ExportRequest{Serial: strings.ToLower(leaf.Serial), Format: ExportPEM}, "export me"},
		{"leaf chain", ExportRequest{Serial: leaf.Serial, Format: ExportChain}, "export me > " + issCN + " > " + rootCN},
		{"ca pem", ExportRequest{Format: ExportPEM}, issCN},
		{"ca chain", ExportRequest{Format: ExportChain}, issCN + " > " + rootCN},
		{"root chain", ExportRequest{CAID: "root", Format: ExportChain}, rootCN},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := svc.Export(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(exportTestPEMCerts(t, b)); got != tc.want {
				t.Errorf("exported %q, want %q", got, tc.want)
			}
		})
	}
	der, err := svc.Export(ctx, ExportRequest{Serial: leaf.Serial, Format: ExportDER})
	if err != nil || !bytes.Equal(der, leaf.DER) {
		t.Errorf("DER export: %v", err)
	}

	// p12 without a key: the chain only; with the leaf's key: key + chain.
	pass := ExportPassword()
	if len(pass) < 20 || pass == ExportPassword() {
		t.Fatalf("weak or repeated password %q", pass)
	}
	p12, err := svc.Export(ctx, ExportRequest{Serial: leaf.Serial, Format: ExportP12, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pkcs12.DecodeTrustStore(p12, pass)
	if err != nil || len(certs) != 3 {
		t.Fatalf("p12 without key: %d certificates, %v", len(certs), err)
	}
	p12Key, err := svc.Export(ctx, ExportRequest{Serial: leaf.Serial, Format: ExportP12, Password: pass, Key: leaf.Key})
	if err != nil {
		t.Fatal(err)
	}
	k, c, chain, err := pkcs12.DecodeChain(p12Key, pass)
	if err != nil || k == nil || !bytes.Equal(c.Raw, leaf.DER) || len(chain) != 2 {
		t.Fatalf("p12 with key: %v (chain %d)", err, len(chain))
	}

	t.Run("openssl pkcs12", func(t *testing.T) {
		openssl := peer.Need(t, "openssl", "openssl")
		dir := t.TempDir()
		for name, data := range map[string][]byte{"certs.p12": p12, "key.p12": p12Key} {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(openssl, "pkcs12", "-info", "-nokeys", "-in", path, "-passin", "pass:"+pass).CombinedOutput()
			if err != nil || strings.Count(string(out), "BEGIN CERTIFICATE") != 3 {
				t.Errorf("openssl pkcs12 -info -nokeys %s: %v\n%s", name, err, out)
			}
			if name == "key.p12" {
				out, err := exec.Command(openssl, "pkcs12", "-in", path, "-passin", "pass:"+pass, "-nocerts", "-nodes").CombinedOutput()
				if err != nil || !strings.Contains(string(out), "PRIVATE KEY") {
					t.Errorf("openssl pkcs12 -nocerts: %v\n%s", err, out)
				}
			}
			if out, err := exec.Command(openssl, "pkcs12", "-info", "-nokeys", "-in", path, "-passin", "pass:wrong").CombinedOutput(); err == nil {
				t.Errorf("openssl read %s with a wrong password:\n%s", name, out)
			}
		}
	})

	other := crlTestLeaf(t, svc, "other")
	errCases := []struct {
		name    string
		req     ExportRequest
		wantErr string
	}{
		{"unknown serial", ExportRequest{Serial: "0123", Format: ExportPEM}, "no certificate with serial 0123"},
		{"bad serial", ExportRequest{Serial: "xyz", Format: ExportPEM}, "not a serial number"},
		{"p12 without password", ExportRequest{Serial: leaf.Serial, Format: ExportP12}, "needs a password"},
		{"wrong key", ExportRequest{Serial: leaf.Serial, Format: ExportP12, Password: "x", Key: other.Key}, "does not belong"},
		{"key with pem", ExportRequest{Serial: leaf.Serial, Format: ExportPEM, Key: leaf.Key}, "only into a p12"},
		{"CA key", ExportRequest{Format: ExportP12, Password: "x", Key: leaf.Key}, "never exported"},
		{"unknown CA", ExportRequest{CAID: "nosuch", Format: ExportPEM}, "nosuch"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Export(ctx, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}

	// An imported index entry without its certificate file.
	if err := st.AddCertificates(ctx, []*store.Certificate{{Serial: "0ABC", CAID: "issuing", Subject: "CN=x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Export(ctx, ExportRequest{Serial: "0ABC", Format: ExportPEM}); err == nil || !strings.Contains(err.Error(), "only the index entry") {
		t.Errorf("export of an entry without DER: %v", err)
	}
}

func TestParseExportFormat(t *testing.T) {
	for in, want := range map[string]ExportFormat{"pem": ExportPEM, "DER": ExportDER, "chain": ExportChain, "p12": ExportP12, "pfx": ExportP12} {
		if got, err := ParseExportFormat(in); err != nil || got != want {
			t.Errorf("ParseExportFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseExportFormat("jks"); err == nil {
		t.Error("jks accepted")
	}
}

// marshalPKCS8ForTest is used by ca-core's tests (it lived in a file of
// this name on their branch).
func marshalPKCS8ForTest(k crypto.Signer) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k) }
