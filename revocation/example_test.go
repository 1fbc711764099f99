package revocation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/pkid/pkid/revocation"
)

// Example refuses a TLS server whose certificate its CA has revoked. The
// checker plugs into tls.Config.VerifyConnection; the same checker on a
// server (with ClientAuth set to verify) refuses revoked client
// certificates.
func Example() {
	roots, serverCert, stop := exampleServerPKI()
	defer stop()

	// The zero Config is hard-fail: staple, then OCSP, then CRLs.
	checker := revocation.New(revocation.Config{})

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverCert}})
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()

	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		RootCAs:          roots,
		ServerName:       "127.0.0.1",
		VerifyConnection: checker.VerifyConnection,
	})
	if err == nil {
		conn.Close()
	}
	var revoked *revocation.RevokedError
	if errors.As(err, &revoked) {
		fmt.Printf("refused: serial %X is revoked (%s)\n", revoked.Serial, revoked.Reason)
	}
	// Output: refused: serial 2A is revoked (keyCompromise)
}

// exampleServerPKI makes a CA publishing a CRL over HTTP and a server
// certificate (serial 0x2A) that the CRL revokes.
func exampleServerPKI() (*x509.CertPool, tls.Certificate, func()) {
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey, srvKey := key(), key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	ca, _ := x509.ParseCertificate(caDER)

	var crl []byte
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(crl) }))
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x2A), Subject: pkix.Name{CommonName: "www"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		CRLDistributionPoints: []string{repo.URL + "/ca.crl"},
	}
	srvDER, _ := x509.CreateCertificate(rand.Reader, srvTmpl, ca, srvKey.Public(), caKey)
	crl, _ = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: big.NewInt(0x2A), RevocationTime: now.Add(-time.Minute), ReasonCode: 1},
		},
	}, ca, caKey)

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return roots, tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}, repo.Close
}
