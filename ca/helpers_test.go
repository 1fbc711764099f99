package ca_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/sqlite"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot summarises what a store holds, to assert a failed operation
// changed nothing.
func snapshot(t *testing.T, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := st.Certificates(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, c := range certs {
		if c.Status == store.StatusRevoked {
			revoked++
		}
	}
	cas, _ := st.CAs(ctx)
	return fmt.Sprintf("rev=%d certs=%d revoked=%d cas=%d", rev, len(certs), revoked, len(cas))
}

func emptyStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pkid.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func benchCSR(tb testing.TB, key crypto.Signer) []byte {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "bench", Organization: []string{"pkid"}}}, key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
