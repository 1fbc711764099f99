package pkitest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/sqlite"
)

// Options choose the CA NewCA makes; the zero value is a two-tier P-256
// hierarchy with unencrypted keys.
type Options struct {
	Name       string
	KeyType    ca.KeyType
	Single     bool
	URL        string
	LDAPURL    string
	Passphrase string
}

// CA is a fresh CA in its own data directory, laid out as `pkid init`
// leaves it (DIR/pkid.db, DIR/ca.pem, DIR/chain.pem), so the CLI can use it
// with --dir.
type CA struct {
	Dir     string
	Store   store.Store
	Service *ca.Service
	Init    *ca.InitResult
	// RootFile is ca.pem (the trust anchor); ChainFile is chain.pem
	// (issuing CA + root); IssuingFile holds the issuing CA alone (for
	// openssl verify -untrusted). With Single all three hold the one CA.
	RootFile, ChainFile, IssuingFile string
}

// NewCA creates a CA in t.TempDir(); everything is closed when t ends.
func NewCA(t testing.TB, o Options) *CA {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "pkid.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	res, err := ca.Init(ctx, st, ca.InitOptions{Name: o.Name, KeyType: o.KeyType, Single: o.Single,
		URL: o.URL, LDAPURL: o.LDAPURL, Passphrase: []byte(o.Passphrase)})
	if err != nil {
		st.Close()
		t.Fatalf("init CA: %v", err)
	}
	svc := ca.New(st, ca.Options{Where: dir, Passphrase: func() ([]byte, error) { return []byte(o.Passphrase), nil }})
	t.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	c := &CA{Dir: dir, Store: st, Service: svc, Init: res,
		RootFile: filepath.Join(dir, "ca.pem"), ChainFile: filepath.Join(dir, "chain.pem"), IssuingFile: filepath.Join(dir, "issuing.pem")}
	write(t, c.RootFile, res.RootsPEM, 0o644)
	write(t, c.ChainFile, res.ChainPEM, 0o644)
	last := res.CAs[len(res.CAs)-1]
	write(t, c.IssuingFile, ca.CertPEM(last.CertDER), 0o644)
	return c
}

// Issue issues a certificate or fails the test.
func (c *CA) Issue(t testing.TB, req ca.Request) *ca.Issued {
	t.Helper()
	iss, err := c.Service.Issue(context.Background(), req)
	if err != nil {
		t.Fatalf("issue %+v: %v", req, err)
	}
	return iss
}

// Files are an issued certificate written out as `pkid issue --out` does.
type Files struct{ Cert, Key, Chain string }

// Write saves iss under dir as NAME.pem, NAME.key.pem and NAME.chain.pem.
func Write(t testing.TB, dir, name string, iss *ca.Issued) Files {
	t.Helper()
	f := Files{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+".key.pem"), Chain: filepath.Join(dir, name+".chain.pem")}
	write(t, f.Cert, iss.CertPEM(), 0o644)
	write(t, f.Chain, iss.ChainPEM(), 0o644)
	if iss.Key != nil {
		k, err := iss.KeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		write(t, f.Key, k, 0o600)
	}
	return f
}

func write(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}
