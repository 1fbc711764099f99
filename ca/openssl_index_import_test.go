package ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/testkey"
	"github.com/pkid/pkid/store"
)

// opensslCADir is a real `openssl ca` directory made by the openssl
// command line.
type opensslCADir struct {
	t       testing.TB
	openssl string
	dir     string
}

func (d *opensslCADir) path(n string) string { return filepath.Join(d.dir, n) }

func (d *opensslCADir) run(args ...string) string {
	d.t.Helper()
	cmd := exec.Command(d.openssl, args...)
	cmd.Dir = d.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (d *opensslCADir) ca(args ...string) string {
	d.t.Helper()
	return d.run(append([]string{"ca", "-config", d.path("openssl.cnf"), "-batch"}, args...)...)
}

func newOpenSSLCADir(t testing.TB) *opensslCADir {
	t.Helper()
	d := &opensslCADir{t: t, openssl: peer.Need(t, "openssl", "openssl"), dir: t.TempDir()}
	if err := os.MkdirAll(d.path("newcerts"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"index.txt":      "",
		"index.txt.attr": "unique_subject = no\n",
		"serial":         "1000\n",
		"crlnumber":      "2000\n",
		"openssl.cnf": `[ ca ]
default_ca = test_ca
[ test_ca ]
dir = ` + d.dir + `
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 365
default_crl_days = 7
unique_subject = no
policy = policy_any
copy_extensions = none
x509_extensions = leaf_ext
crl_extensions = crl_ext
[ policy_any ]
organizationName = optional
commonName = supplied
[ leaf_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
`,
	}
	for n, c := range files {
		if err := os.WriteFile(d.path(n), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d.run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key")
	d.run("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/O=openssl test/CN=OpenSSL Test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	d.run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "leaf.key")
	return d
}

// issue makes a leaf with `openssl ca` and returns its serial.
func (d *opensslCADir) issue(cn string, extra ...string) string {
	d.t.Helper()
	d.run("req", "-new", "-key", "leaf.key", "-subj", "/O=openssl test/CN="+cn, "-out", cn+".csr")
	d.ca(append([]string{"-notext", "-in", cn + ".csr", "-out", cn + ".pem"}, extra...)...)
	b, err := os.ReadFile(d.path(cn + ".pem"))
	if err != nil {
		d.t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		d.t.Fatal(err)
	}
	return FormatSerial(c.SerialNumber)
}

// crlEntriesOf returns serial → reason ("none" when absent) and invalidity
// date of a CRL, as a relying party sees them.
func crlEntriesOf(t testing.TB, der []byte) map[string]string {
	t.Helper()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range crl.RevokedCertificateEntries {
		v := ReasonName(e.ReasonCode)
		for _, x := range e.Extensions {
			if x.Id.Equal(oidInvalidityDate) {
				v += fmt.Sprintf(" invalid since % X", x.Value)
			}
		}
		m[FormatSerial(e.SerialNumber)] = v
	}
	return m
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImportOpenSSLMatchesGencrl takes over a real `openssl ca` directory
// with valid, revoked (several reasons, hold, compromise time) and expired
// entries: pkid's CRL lists exactly the serials and reasons that
// `openssl ca -gencrl` lists, continues the CRL numbering, and works with
// `openssl verify -crl_check`.
func TestImportOpenSSLMatchesGencrl(t *testing.T) {
	d := newOpenSSLCADir(t)
	valid := d.issue("valid")
	expired := d.issue("expired", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z")
	revoked := map[string][]string{
		"key":        {"-crl_reason", "keyCompromise"},
		"superseded": {"-crl_reason", "superseded"},
		"cessation":  {"-crl_reason", "cessationOfOperation"},
		"affil":      {"-crl_reason", "affiliationChanged"},
		"hold":       {"-crl_hold", "holdInstructionReject"},
		"keytime":    {"-crl_compromise", "20260101120000Z"},
		"catime":     {"-crl_CA_compromise", "20251231000000Z"},
		"noreason":   nil,
		"unspec":     {"-crl_reason", "unspecified"},
	}
	serials := map[string]string{}
	for name, args := range revoked {
		serials[name] = d.issue(name)
		d.ca(append([]string{"-revoke", d.path(name + ".pem")}, args...)...)
	}
	d.ca("-updatedb") // marks "expired" E
	index := string(readFile(t, d.path("index.txt")))
	if !strings.Contains(index, "E\t") {
		t.Fatalf("openssl ca -updatedb marked nothing expired:\n%s", index)
	}
	d.ca("-gencrl", "-out", "openssl-crl.pem")
	blk, _ := pem.Decode(readFile(t, d.path("openssl-crl.pem")))
	want := crlEntriesOf(t, blk.Bytes)
	osslCRL, _ := x509.ParseRevocationList(blk.Bytes)
	if len(want) != len(revoked) {
		t.Fatalf("openssl's CRL lists %d entries, want %d", len(want), len(revoked))
	}
	// OpenSSL writes reasonCode unspecified when it was named and nothing
	// when no reason was given; pkid omits it for both (RFC 5280 §5.3.1).
	// Both read as unspecified.

	ctx := context.Background()
	st, _ := crlTestStore(t)
	idx, err := os.Open(d.path("index.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	res, err := ImportOpenSSL(ctx, st, OpenSSLImport{
		CACert:     readFile(t, d.path("ca.pem")),
		CAKey:      readFile(t, d.path("ca.key")),
		Index:      idx,
		CRLNumber:  readFile(t, d.path("crlnumber")),
		CertsDir:   d.path("newcerts"),
		Passphrase: []byte("correct horse"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != 1 || res.Expired != 1 || res.Revoked != len(revoked) || res.WithCertificate != 2+len(revoked) {
		t.Errorf("import result %+v", res)
	}
	if !res.CA.Default || res.CA.Role != store.RoleImported || !res.CA.Encrypted || res.CA.ID != "imported" {
		t.Errorf("imported CA %+v", res.CA)
	}
	if !IsEncryptedKey(res.CA.KeyPEM) {
		t.Error("CA key stored without encryption despite a passphrase")
	}
	for serial, status := range map[string]store.Status{valid: store.StatusValid, expired: store.StatusValid, serials["hold"]: store.StatusRevoked} {
		c, err := st.Certificate(ctx, serial)
		if err != nil || c.Status != status || len(c.DER) == 0 {
			t.Errorf("certificate %s: %+v, %v", serial, c, err)
		}
	}
	if c, _ := st.Certificate(ctx, expired); c == nil || !c.NotAfter.Before(time.Now()) {
		t.Errorf("expired entry's NotAfter: %+v", c)
	}

	svc := New(st, Options{Passphrase: func() ([]byte, error) { return []byte("correct horse"), nil }})
	defer svc.Close()
	crl, err := svc.CRL(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	got := crlEntriesOf(t, crl.DER)
	t.Logf("openssl CRL entries: %v", want)
	if !maps.Equal(got, want) {
		t.Errorf("pkid's CRL differs from openssl's:\n got  %v\n want %v", got, want)
	}
	if crl.Number != osslCRL.Number.Int64()+1 {
		t.Errorf("CRL number %d, want openssl's %d + 1", crl.Number, osslCRL.Number)
	}
	parsed, _ := x509.ParseRevocationList(crl.DER)
	if !bytes.Equal(parsed.AuthorityKeyId, osslCRL.AuthorityKeyId) {
		t.Errorf("AKI %X, openssl's %X", parsed.AuthorityKeyId, osslCRL.AuthorityKeyId)
	}

	crlTestWritePEM(t, d.path("pkid-crl.pem"), "X509 CRL", crl.DER)
	verify := func(leaf string) (string, error) {
		out, err := exec.Command(d.openssl, "verify", "-CAfile", d.path("ca.pem"), "-crl_check", "-CRLfile", d.path("pkid-crl.pem"), d.path(leaf+".pem")).CombinedOutput()
		return string(out), err
	}
	if out, err := verify("valid"); err != nil {
		t.Errorf("openssl verify rejects the valid leaf with pkid's CRL: %v\n%s", err, out)
	}
	if out, err := verify("key"); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify of a revoked leaf with pkid's CRL: %v\n%s", err, out)
	}
}

// TestImportOpenSSLRefuses: bad input fails with a clear error and stores
// nothing.
func TestImportOpenSSLRefuses(t *testing.T) {
	d := newOpenSSLCADir(t)
	d.issue("one")
	index := readFile(t, d.path("index.txt"))
	otherKey := readFile(t, d.path("leaf.key"))
	leafCert := readFile(t, d.path("one.pem"))
	good := func() OpenSSLImport {
		return OpenSSLImport{
			CACert: readFile(t, d.path("ca.pem")), CAKey: readFile(t, d.path("ca.key")),
			Index: bytes.NewReader(index), CRLNumber: readFile(t, d.path("crlnumber")),
		}
	}
	cases := []struct {
		name    string
		mod     func(*OpenSSLImport)
		wantErr string
	}{
		{"key of another certificate", func(in *OpenSSLImport) { in.CAKey = otherKey }, "does not belong to the CA certificate"},
		{"leaf as CA", func(in *OpenSSLImport) { in.CACert = leafCert; in.CAKey = otherKey }, "not a CA certificate"},
		{"corrupt index line", func(in *OpenSSLImport) {
			in.Index = bytes.NewReader(append(bytes.Clone(index), "V\t2711240200\t\t1001\tunknown\t/CN=x\n"...))
		}, "index line 2: expiry date"},
		{"corrupt crlnumber", func(in *OpenSSLImport) { in.CRLNumber = []byte("xyz\n") }, "crlnumber"},
		{"no key", func(in *OpenSSLImport) { in.CAKey = nil }, "no PEM block"},
		{"bad ID", func(in *OpenSSLImport) { in.ID = "a/b" }, "letters, digits"},
		{"certificate file of another CA", func(in *OpenSSLImport) {
			dir := t.TempDir()
			other := crlTestRoot(t, "p256")
			serial := strings.Split(string(index), "\t")[3]
			crlTestWritePEM(t, filepath.Join(dir, serial+".pem"), "CERTIFICATE", crlTestIssue(t, other, testkey.New(t, "p256"), "x", false, 0x1000).Raw)
			in.CertsDir = dir
		}, "not signed by this CA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := crlTestStore(t)
			in := good()
			tc.mod(&in)
			_, err := ImportOpenSSL(context.Background(), st, in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			cas, _ := st.CAs(context.Background())
			certs, _ := st.Certificates(context.Background(), store.Query{})
			if len(cas) != 0 || len(certs) != 0 {
				t.Errorf("failed import stored %d CAs and %d certificates", len(cas), len(certs))
			}
		})
	}

	// A second import of the same CA, and an import beside a default CA.
	st, _ := crlTestStore(t)
	if _, err := ImportOpenSSL(context.Background(), st, good()); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportOpenSSL(context.Background(), st, good()); err == nil || !strings.Contains(err.Error(), "already in the store") {
		t.Errorf("second import: %v", err)
	}
}

// TestImportOpenSSLBesideInit: an import into a store with pkid's own CAs
// does not take over as the default CA.
func TestImportOpenSSLBesideInit(t *testing.T) {
	d := newOpenSSLCADir(t)
	d.issue("one")
	_, st, _ := crlTestPKI(t)
	res, err := ImportOpenSSL(context.Background(), st, OpenSSLImport{
		CACert: readFile(t, d.path("ca.pem")), CAKey: readFile(t, d.path("ca.key")),
		Index: bytes.NewReader(readFile(t, d.path("index.txt"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.CA.Default || res.CA.Encrypted || res.NextCRLNumber != 1 {
		t.Errorf("imported beside init: %+v (next CRL %d)", res.CA, res.NextCRLNumber)
	}
}

// createCAsFails makes the store refuse the import's one write by adding
// a certificate of an unknown CA to its batch.
type createCAsFails struct{ store.Store }

func (s createCAsFails) CreateCAs(ctx context.Context, cas []*store.CA, issued []*store.Certificate) error {
	issued = append(append([]*store.Certificate(nil), issued...),
		&store.Certificate{Serial: "FA11", CAID: "injected-failure", Status: store.StatusValid})
	return s.Store.CreateCAs(ctx, cas, issued)
}

// TestImportOpenSSLAtomic: when the store fails the import's write, no CA
// and no certificate is left behind, and the same import then succeeds.
func TestImportOpenSSLAtomic(t *testing.T) {
	d := newOpenSSLCADir(t)
	d.issue("one")
	d.issue("two")
	st, _ := crlTestStore(t)
	in := func() OpenSSLImport {
		return OpenSSLImport{CACert: readFile(t, d.path("ca.pem")), CAKey: readFile(t, d.path("ca.key")),
			Index: bytes.NewReader(readFile(t, d.path("index.txt")))}
	}
	ctx := context.Background()
	if _, err := ImportOpenSSL(ctx, createCAsFails{st}, in()); err == nil {
		t.Fatal("import through a failing store succeeded")
	}
	if cas, err := st.CAs(ctx); err != nil || len(cas) != 0 {
		t.Fatalf("CAs after a failed import = %d, %v; want none", len(cas), err)
	}
	if certs, err := st.Certificates(ctx, store.Query{}); err != nil || len(certs) != 0 {
		t.Fatalf("certificates after a failed import = %d, %v; want none", len(certs), err)
	}
	res, err := ImportOpenSSL(ctx, st, in())
	if err != nil {
		t.Fatalf("import after a failed one: %v", err)
	}
	if certs, _ := st.Certificates(ctx, store.Query{}); len(certs) != 2 || res.Valid != 2 {
		t.Errorf("after import: %d certificates stored, %d valid lines; want 2, 2", len(certs), res.Valid)
	}
}
