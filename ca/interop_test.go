package ca_test

import (
	"context"
	"encoding/pem"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pkitest"
)

func runPeer(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// TestOpenSSLAndGnuTLSVerify: a fresh leaf of every profile and key type
// verifies with `openssl verify -crl_check_all` against pkid's CRLs and
// with `certtool --verify-chain`; a revoked one is rejected with
// "certificate revoked".
func TestOpenSSLAndGnuTLSVerify(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	certtool := peer.Need(t, "certtool", "gnutls-bin")
	for _, caKey := range []ca.KeyType{ca.KeyECDSAP256, ca.KeyRSA2048} {
		t.Run("ca-"+string(caKey), func(t *testing.T) {
			c := pkitest.NewCA(t, pkitest.Options{KeyType: caKey, URL: "http://127.0.0.1:8080", LDAPURL: "ldap://127.0.0.1:1389"})
			dir := t.TempDir()
			type leaf struct {
				name, profile string
				iss           *ca.Issued
				f             pkitest.Files
			}
			var leaves []leaf
			for _, prof := range []string{"server", "client", "client-server", "ocsp-signing", "sub-ca"} {
				for _, kt := range ca.KeyTypes {
					if kt == ca.KeyRSA4096 && testing.Short() {
						continue
					}
					name := prof + "-" + string(kt)
					iss := c.Issue(t, ca.Request{Profile: prof, Subject: "CN=" + prof + ".example.org,O=Test", KeyType: kt})
					leaves = append(leaves, leaf{name, prof, iss, pkitest.Write(t, dir, name, iss)})
				}
			}
			revoked := pkitest.Write(t, dir, "revoked", c.Issue(t, ca.Request{Profile: "server", Subject: "CN=gone.example.org"}))
			if _, err := c.Service.Revoke(context.Background(), revokedSerial(t, revoked.Cert), ca.ReasonKeyCompromise, time.Time{}); err != nil {
				t.Fatal(err)
			}
			crlFile := filepath.Join(dir, "crl.pem")
			var crls []byte
			for _, id := range []string{"root", "issuing"} {
				crl, err := c.Service.CRL(context.Background(), id, false)
				if err != nil {
					t.Fatalf("CRL of %s: %v", id, err)
				}
				crls = append(crls, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl.DER})...)
			}
			writeFile(t, crlFile, crls)
			verify := func(cert string, issuedByRoot bool, purpose string) (string, error) {
				args := []string{"verify", "-x509_strict", "-crl_check_all", "-CRLfile", crlFile, "-CAfile", c.RootFile}
				if !issuedByRoot {
					args = append(args, "-untrusted", c.IssuingFile)
				}
				if purpose != "" {
					args = append(args, "-purpose", purpose)
				}
				return runPeer(t, 30*time.Second, openssl, append(args, cert)...)
			}
			for _, l := range leaves {
				t.Run(l.name, func(t *testing.T) {
					purpose := map[string]string{"server": "sslserver", "client-server": "sslserver", "client": "sslclient"}[l.profile]
					out, err := verify(l.f.Cert, l.iss.CAID == "root", purpose)
					if err != nil || !strings.Contains(out, ": OK") {
						t.Fatalf("openssl verify: %v\n%s", err, out)
					}
					// certtool wants the whole chain in one file, root last.
					out, err = runPeer(t, 30*time.Second, certtool, "--verify-chain", "--infile", l.f.Chain)
					if err != nil || !strings.Contains(out, "Chain verification output: Verified") {
						t.Fatalf("certtool --verify-chain: %v\n%s", err, out)
					}
				})
			}
			out, err := verify(revoked.Cert, false, "sslserver")
			if err == nil || !strings.Contains(out, "certificate revoked") {
				t.Fatalf("openssl verify accepted a revoked certificate: %v\n%s", err, out)
			}
		})
	}
}

func revokedSerial(t *testing.T, certFile string) string {
	t.Helper()
	c, err := ca.ParseCertificate(readFile(t, certFile))
	if err != nil {
		t.Fatal(err)
	}
	return ca.FormatSerial(c.SerialNumber)
}

// TestOpenSSLReadsEncryptedKey: `openssl pkey` reads a CA key pkid
// encrypted, with the passphrase, and refuses a wrong one.
func TestOpenSSLReadsEncryptedKey(t *testing.T) {
	openssl := peer.Need(t, "openssl", "openssl")
	c := pkitest.NewCA(t, pkitest.Options{Passphrase: "correct horse"})
	dir := t.TempDir()
	for _, rec := range c.Init.CAs {
		if !rec.Encrypted || !strings.Contains(string(rec.KeyPEM), "ENCRYPTED PRIVATE KEY") {
			t.Fatalf("CA %s key not encrypted", rec.ID)
		}
		path := filepath.Join(dir, rec.ID+".key.pem")
		writeFile(t, path, rec.KeyPEM)
		out, err := runPeer(t, 30*time.Second, openssl, "pkey", "-in", path, "-passin", "pass:correct horse", "-noout", "-text")
		if err != nil || !strings.Contains(out, "Private-Key") {
			t.Fatalf("openssl pkey with the passphrase: %v\n%s", err, out)
		}
		out, err = runPeer(t, 30*time.Second, openssl, "pkey", "-in", path, "-passin", "pass:wrong", "-noout")
		if err == nil {
			t.Fatalf("openssl pkey accepted a wrong passphrase:\n%s", out)
		}
	}
	// And pkid reads what openssl encrypts (PBES2, AES-256, HMAC-SHA256).
	path := filepath.Join(dir, "openssl.key.pem")
	if out, err := runPeer(t, 30*time.Second, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-aes-256-cbc", "-pass", "pass:s3cret", "-out", path); err != nil {
		t.Fatalf("openssl genpkey: %v\n%s", err, out)
	}
	if _, err := ca.ParsePrivateKey(readFile(t, path), []byte("s3cret")); err != nil {
		t.Fatalf("parse openssl's encrypted key: %v", err)
	}
}
