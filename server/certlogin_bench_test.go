package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/server"
)

// BenchmarkExternalLogin is one certificate login against pkid serve's
// LDAPS listener, as bench/certlogin-compare.sh measures it: connect, TLS
// handshake with a client certificate (full, or resumed with a session
// ticket), SASL EXTERNAL bind, unbind. Client and server share the
// process, so the time per op includes the client's half of the
// handshake; profile with -cpuprofile to see the server's part.
func BenchmarkExternalLogin(b *testing.B) {
	f := start(b, "", func(c *server.Config) { c.LDAPSAddr = "127.0.0.1:0" })
	iss, _ := f.issue(ca.Request{Profile: "client", Subject: "CN=admin,O=pkid"})
	roots := x509.NewCertPool()
	roots.AddCert(f.root)
	cert := tls.Certificate{Certificate: [][]byte{iss.DER}, PrivateKey: iss.Key, Leaf: iss.Certificate}
	url := "ldaps://" + f.srv.LDAPSAddr().String()
	for _, bc := range []struct {
		name   string
		resume bool
	}{{"full", false}, {"resumed", true}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}}
			if bc.resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			}
			for b.Loop() {
				c, err := ldap.Dial(b.Context(), url, &ldap.ClientConfig{TLSConfig: cfg, Timeout: 5 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				if err := c.BindExternal(b.Context(), ""); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
