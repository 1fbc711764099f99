package lint

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pkid/pkid/internal/peer"
)

// opensslCA is a CA directory made by the openssl command, the way
// administrators build them by hand.
type opensslCA struct {
	t       *testing.T
	openssl string
	dir     string
}

func (o *opensslCA) run(args ...string) {
	o.t.Helper()
	cmd := exec.Command(o.openssl, args...)
	cmd.Dir = o.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		o.t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

func (o *opensslCA) write(name, content string) {
	o.t.Helper()
	if err := os.WriteFile(filepath.Join(o.dir, name), []byte(content), 0o600); err != nil {
		o.t.Fatal(err)
	}
}

func (o *opensslCA) lint(name string) []Finding {
	o.t.Helper()
	data, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		o.t.Fatal(err)
	}
	fs, err := File(data, Options{})
	if err != nil {
		o.t.Fatalf("lint %s: %v", name, err)
	}
	return fs
}

// newOpensslCA makes a CA with `openssl req -x509` using caExtensions for
// its v3_ca section and crlExtensions (may be empty) for its CRLs.
func newOpensslCA(t *testing.T, caExtensions, caSection string) *opensslCA {
	o := &opensslCA{t: t, openssl: peer.Need(t, "openssl", "openssl"), dir: t.TempDir()}
	o.write("ca.cnf", `[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = Legacy CA
O = Example
[v3_ca]
`+caExtensions+`
[ca]
default_ca = myca
[myca]
database = index.txt
default_md = sha256
default_crl_days = 30
`+caSection)
	o.write("index.txt", "")
	o.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "ca.key", "-out", "ca.pem", "-days", "365", "-config", "ca.cnf")
	return o
}

func (o *opensslCA) issueLeaf(ext string) {
	o.write("leaf.ext", ext)
	o.run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "leaf.key", "-subj", "/CN=web.example", "-out", "leaf.csr")
	o.run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
		"-days", "30", "-extfile", "leaf.ext", "-out", "leaf.pem")
}

func hasID(fs []Finding, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}

// TestOpenSSLTraps runs certificates and CRLs made by the openssl command
// with the classic mistakes through the linter.
func TestOpenSSLTraps(t *testing.T) {
	o := newOpensslCA(t,
		"basicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, digitalSignature\nsubjectKeyIdentifier = hash\n", "")
	if fs := o.lint("ca.pem"); !hasID(fs, idCAWithoutCRLSign) || !HasErrors(fs) {
		t.Errorf("CA without cRLSign from openssl req -x509: want %s, got [%s]", idCAWithoutCRLSign, findingIDs(fs))
	}

	o.issueLeaf("subjectAltName = DNS:web.example\nextendedKeyUsage = serverAuth\nauthorityKeyIdentifier = none\n")
	if fs := o.lint("leaf.pem"); !hasID(fs, idMissingAKI) {
		t.Errorf("leaf without AKI: want %s, got [%s]", idMissingAKI, findingIDs(fs))
	}

	o.issueLeaf("extendedKeyUsage = serverAuth\n")
	if fs := o.lint("leaf.pem"); !hasID(fs, idServerWithoutSAN) {
		t.Errorf("leaf without SAN: want %s, got [%s]", idServerWithoutSAN, findingIDs(fs))
	}

	// Without a crlnumber file, `openssl ca -gencrl` writes a v1 CRL with
	// neither CRL number nor AKI.
	o.run("ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-out", "crl.pem")
	fs := o.lint("crl.pem")
	for _, id := range []string{idCRLVersion1, idCRLWithoutNumber, idCRLWithoutAKI} {
		if !hasID(fs, id) {
			t.Errorf("openssl v1 CRL: want %s, got [%s]", id, findingIDs(fs))
		}
	}
	// Linted next to its CA, the CRL is also refused for the missing cRLSign.
	ca, _ := os.ReadFile(filepath.Join(o.dir, "ca.pem"))
	crl, _ := os.ReadFile(filepath.Join(o.dir, "crl.pem"))
	fs, err := File(append(ca, crl...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasID(fs, idCRLIssuerWithoutCRLSign) {
		t.Errorf("CA + CRL: want %s, got [%s]", idCRLIssuerWithoutCRLSign, findingIDs(fs))
	}
}

// TestOpenSSLClean is the control: an openssl CA set up correctly produces
// no error or warning, so the traps above are not false alarms.
func TestOpenSSLClean(t *testing.T) {
	o := newOpensslCA(t,
		"basicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign, digitalSignature\nsubjectKeyIdentifier = hash\n",
		"crlnumber = crlnumber\ncrl_extensions = crl_ext\n[crl_ext]\nauthorityKeyIdentifier = keyid:always\n")
	o.write("crlnumber", "1000\n")
	noErrorsOrWarnings(t, o.lint("ca.pem"))
	o.issueLeaf("subjectAltName = DNS:web.example\nextendedKeyUsage = serverAuth\nkeyUsage = critical, digitalSignature\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")
	noErrorsOrWarnings(t, o.lint("leaf.pem"))
	o.run("ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem", "-out", "crl.pem")
	ca, _ := os.ReadFile(filepath.Join(o.dir, "ca.pem"))
	crl, _ := os.ReadFile(filepath.Join(o.dir, "crl.pem"))
	fs, err := File(append(ca, crl...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	noErrorsOrWarnings(t, fs)
}
