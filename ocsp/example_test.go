package ocsp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/pkid/pkid/ocsp"
	xocsp "golang.org/x/crypto/ocsp"
)

// Example serves one CA whose certificate 2 is revoked: a Lookup answers
// from the caller's data, the Responder pre-signs and caches, NewServer
// adds the timeouts.
func Example() {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	caCert, _ := x509.ParseCertificate(caDER)

	revokedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lookup := func(ctx context.Context, iss *ocsp.Issuer, serial *big.Int) (ocsp.Status, error) {
		switch serial.Int64() {
		case 2:
			return ocsp.Status{Status: ocsp.Revoked, RevokedAt: revokedAt, Reason: 1}, nil
		case 3:
			return ocsp.Status{Status: ocsp.Good}, nil
		}
		return ocsp.Status{Status: ocsp.Unknown}, nil
	}
	// Without a delegated responder certificate the CA's key signs.
	r, err := ocsp.New(ocsp.Config{
		Issuers: []*ocsp.Issuer{{ID: "example", Cert: caCert, Signer: caKey}},
		Lookup:  lookup,
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := ocsp.NewServer(r) // POST to /ocsp, GET /ocsp/<base64>
	go srv.Serve(ln)
	defer srv.Close()

	// A client asks about certificate 2 (the x/crypto/ocsp client here).
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), RawIssuer: caCert.RawSubject}
	req, _ := xocsp.CreateRequest(leaf, caCert, &xocsp.RequestOptions{Hash: crypto.SHA256})
	httpResp, err := http.Post("http://"+ln.Addr().String()+"/ocsp", ocsp.ContentTypeRequest, bytes.NewReader(req))
	if err != nil {
		log.Fatal(err)
	}
	defer httpResp.Body.Close()
	der, _ := io.ReadAll(httpResp.Body)
	resp, err := xocsp.ParseResponse(der, caCert)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status == xocsp.Revoked, resp.RevokedAt.Format(time.RFC3339), resp.RevocationReason)

	// The same without HTTP; the response now comes from the cache.
	_, status := r.Respond(context.Background(), req)
	fmt.Println(status, r.Cached())
	// Output:
	// true 2026-01-02T03:04:05Z 1
	// successful 1
}
