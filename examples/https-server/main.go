// Command https-server is the server half of a mutual-TLS pair in the
// spirit of Eric Rescorla's "An Introduction to OpenSSL Programming": it
// loads its certificate and key, trusts one CA for client certificates,
// and answers each HTTPS request with a line naming the client. Unlike
// crypto/tls alone it refuses clients whose certificate (or whose CA's)
// has been revoked, with pkid's revocation checker plugged into
// tls.Config.VerifyConnection: OCSP from the certificate's AIA, then the
// CRL from its distribution point.
//
//	pkid issue --profile server --subject CN=localhost --san DNS:localhost,IP:127.0.0.1 --out server
//	go run ./examples/https-server --cert server.chain.pem --key server.key.pem --ca pkid-data/ca.pem
//
// It prints "listening on https://ADDR" once it accepts connections.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pkid/pkid/revocation"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	certFile := flag.String("cert", "server.chain.pem", "server certificate followed by its issuing chain (pkid issue --out server writes server.chain.pem)")
	keyFile := flag.String("key", "server.key.pem", "server private key")
	caFile := flag.String("ca", "pkid-data/ca.pem", "CA certificate(s) client certificates must chain to")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("https-server: ")

	// 1. The context: our identity, the CAs we trust for clients, and the
	// revocation policy (hard-fail: a client whose status cannot be
	// established is refused).
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("load the server certificate: %v", err)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("read the CA file: %v", err)
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM(pem) {
		log.Fatalf("%s holds no PEM certificate", *caFile)
	}
	checker := revocation.New(revocation.Config{})
	cfg := &tls.Config{
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        clientCAs,
		MinVersion:       tls.VersionTLS12,
		VerifyConnection: checker.VerifyConnection,
	}

	// 2. Accept connections; the handshake (with the client certificate
	// and revocation checks) runs before the handler.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(hello),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(os.Stderr, "https-server: ", 0),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Printf("listening on https://%s\n", ln.Addr())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// hello is the response: who the client is, as its verified certificate
// says.
func hello(w http.ResponseWriter, r *http.Request) {
	leaf := r.TLS.VerifiedChains[0][0]
	fmt.Fprintf(w, "Hello, %s (serial %X)! Your certificate is valid and not revoked.\n", leaf.Subject, leaf.SerialNumber)
}
