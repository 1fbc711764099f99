// Command https-client is the client half of a mutual-TLS pair in the
// spirit of Eric Rescorla's "An Introduction to OpenSSL Programming": it
// loads its certificate and key, trusts one CA for the server, connects,
// sends one GET and prints the response. Before any byte of the request
// is sent, pkid's revocation checker (tls.Config.VerifyConnection) checks
// the server's chain over OCSP and CRLs; a revoked server is refused with
// one sentence and exit status 1.
//
//	pkid issue --profile client --subject CN=alice --out alice
//	go run ./examples/https-client --url https://localhost:8443/ --cert alice.chain.pem --key alice.key.pem --ca pkid-data/ca.pem
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/pkid/pkid/revocation"
)

func main() {
	url := flag.String("url", "https://localhost:8443/", "URL to GET")
	certFile := flag.String("cert", "client.chain.pem", "client certificate followed by its issuing chain")
	keyFile := flag.String("key", "client.key.pem", "client private key")
	caFile := flag.String("ca", "pkid-data/ca.pem", "CA certificate(s) the server must chain to")
	flag.Parse()
	os.Exit(run(*url, *certFile, *keyFile, *caFile))
}

func run(url, certFile, keyFile, caFile string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "https-client: "+format+"\n", a...)
		return 1
	}
	// 1. The context: our identity, the CAs we trust, the revocation
	// policy (hard-fail).
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fail("load the client certificate: %v", err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fail("read the CA file: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fail("%s holds no PEM certificate", caFile)
	}
	checker := revocation.New(revocation.Config{})
	client := &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates:     []tls.Certificate{cert},
			RootCAs:          roots,
			MinVersion:       tls.VersionTLS12,
			VerifyConnection: checker.VerifyConnection,
		}},
	}

	// 2. Connect, handshake (chain, host name and revocation checks),
	// send the request, read the response.
	resp, err := client.Get(url)
	if err != nil {
		var revoked *revocation.RevokedError
		if errors.As(err, &revoked) {
			return fail("refusing %s: the server's certificate %q (serial %X) was revoked (%s) on %s, according to %s.",
				url, revoked.Certificate.Subject.String(), revoked.Serial, revoked.Reason, revoked.RevokedAt.UTC().Format(time.RFC3339), revoked.Source)
		}
		return fail("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fail("read the response: %v", err)
	}
	fmt.Printf("%s %s\n%s", resp.Proto, resp.Status, body)
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
