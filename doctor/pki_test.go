package doctor

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// issued is a certificate with its key and PEM files in a test directory.
type issued struct {
	cert     *x509.Certificate
	key      crypto.Signer
	certFile string // PEM certificate
	keyFile  string // PEM PKCS#8 key
}

// tlsCert returns the certificate with chain for crypto/tls.
func (c *issued) tlsCert(chain ...*issued) *tls.Certificate {
	tc := &tls.Certificate{Certificate: [][]byte{c.cert.Raw}, PrivateKey: c.key, Leaf: c.cert}
	for _, x := range chain {
		tc.Certificate = append(tc.Certificate, x.cert.Raw)
	}
	return tc
}

var serialCounter int64 = 1000

func newKey(t testing.TB, kind string) crypto.Signer {
	t.Helper()
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	default:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// issue signs tmpl with parent (nil: self-signed) and writes the files.
func issue(t testing.TB, dir, name string, tmpl *x509.Certificate, key crypto.Signer, parent *issued) *issued {
	t.Helper()
	serialCounter++
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(serialCounter)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		t.Fatalf("issue %s: %v", name, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	out := &issued{cert: c, key: key, certFile: filepath.Join(dir, name+".pem"), keyFile: filepath.Join(dir, name+".key")}
	writePEM(t, out.certFile, c)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func writePEM(t testing.TB, path string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"pkid test"}, CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
}

func leafTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"pkid test"}, CommonName: cn},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

// testPKI is a root, an intermediate, an EC and an RSA server leaf and an EC
// client leaf, all issued by the intermediate.
type testPKI struct {
	dir                  string
	root, inter          *issued
	server, rsaServer    *issued
	client               *issued
	chainFile            string // server + intermediate
	rsaChainFile         string
	rootPool             *x509.CertPool
	clientCAFile         string // intermediate + root: what the server trusts for clients
	clientCert           *tls.Certificate
	interRootChainFile   string
	serverWithRootChain  string
	foreignRoot          *issued
	foreignClient        *issued
	foreignClientCertTLS *tls.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{dir: dir}
	p.root = issue(t, dir, "root", caTemplate("Test Root"), newKey(t, "ec"), nil)
	p.inter = issue(t, dir, "inter", caTemplate("Test Issuing CA"), newKey(t, "ec"), p.root)
	p.server = issue(t, dir, "server", leafTemplate("localhost"), newKey(t, "ec"), p.inter)
	rsaTmpl := leafTemplate("localhost")
	rsaTmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	p.rsaServer = issue(t, dir, "rsaserver", rsaTmpl, newKey(t, "rsa"), p.inter)
	ct := leafTemplate("client one")
	ct.DNSNames, ct.IPAddresses = nil, nil
	ct.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	p.client = issue(t, dir, "client", ct, newKey(t, "ec"), p.inter)
	p.chainFile = writePEM(t, filepath.Join(dir, "server.chain.pem"), p.server.cert, p.inter.cert)
	p.rsaChainFile = writePEM(t, filepath.Join(dir, "rsaserver.chain.pem"), p.rsaServer.cert, p.inter.cert)
	p.clientCAFile = writePEM(t, filepath.Join(dir, "clientca.pem"), p.inter.cert, p.root.cert)
	p.rootPool = x509.NewCertPool()
	p.rootPool.AddCert(p.root.cert)
	p.clientCert = p.client.tlsCert(p.inter)
	p.foreignRoot = issue(t, dir, "foreignroot", caTemplate("Foreign Root"), newKey(t, "ec"), nil)
	p.foreignClient = issue(t, dir, "foreignclient", ct, newKey(t, "ec"), p.foreignRoot)
	p.foreignClientCertTLS = p.foreignClient.tlsCert()
	return p
}
