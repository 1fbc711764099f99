package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/server"
)

// TestExternalResumedSession: LDAPS and StartTLS issue session tickets; a
// resumed session still carries the client certificate, so SASL EXTERNAL
// works on it, and the certificate's revocation is checked at every bind,
// resumed or not: after a revocation the next bind fails, although the
// chain was verified (and cached) before.
func TestExternalResumedSession(t *testing.T) {
	f := start(t, "", func(c *server.Config) { c.LDAPAddr, c.LDAPSAddr = "127.0.0.1:0", "127.0.0.1:0" })
	iss, _ := f.issue(ca.Request{Profile: "client", Subject: "CN=admin,O=pkid"})
	roots := x509.NewCertPool()
	roots.AddCert(f.root)
	cert := tls.Certificate{Certificate: [][]byte{iss.DER}, PrivateKey: iss.Key, Leaf: iss.Certificate}
	for _, c := range iss.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	for _, proto := range []struct {
		name, url string
		startTLS  bool
	}{
		{"ldaps", "ldaps://" + f.srv.LDAPSAddr().String(), false},
		{"starttls", "ldap://" + f.srv.LDAPAddr().String(), true},
	} {
		t.Run(proto.name, func(t *testing.T) {
			resumed := false
			cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert},
				ClientSessionCache: tls.NewLRUClientSessionCache(4),
				VerifyConnection:   func(cs tls.ConnectionState) error { resumed = cs.DidResume; return nil }}
			login := func() error {
				c, err := ldap.Dial(t.Context(), proto.url, &ldap.ClientConfig{TLSConfig: cfg, StartTLS: proto.startTLS, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				return c.BindExternal(t.Context(), "")
			}
			if err := login(); err != nil || resumed {
				t.Fatalf("first login: %v (resumed %v), want a full handshake and success", err, resumed)
			}
			if err := login(); err != nil || !resumed {
				t.Fatalf("second login: %v (resumed %v), want a resumed session and success", err, resumed)
			}
		})
	}
	if _, err := f.srv.Service().Revoke(t.Context(), iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []struct {
		name, url string
		startTLS  bool
	}{
		{"ldaps revoked", "ldaps://" + f.srv.LDAPSAddr().String(), false},
		{"starttls revoked", "ldap://" + f.srv.LDAPAddr().String(), true},
	} {
		t.Run(proto.name, func(t *testing.T) {
			resumed := false
			cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert},
				ClientSessionCache: tls.NewLRUClientSessionCache(4),
				VerifyConnection:   func(cs tls.ConnectionState) error { resumed = cs.DidResume; return nil }}
			var err error
			for i := range 2 { // the first login stores a ticket, the second resumes
				c, derr := ldap.Dial(t.Context(), proto.url, &ldap.ClientConfig{TLSConfig: cfg, StartTLS: proto.startTLS, Timeout: 5 * time.Second})
				if derr != nil {
					t.Fatal(derr)
				}
				err = c.BindExternal(t.Context(), "")
				c.Close()
				var le *ldap.Error
				if !errors.As(err, &le) || le.Code != ldap.ResultInvalidCredentials || !strings.Contains(le.Message, "revoked") {
					t.Fatalf("login %d (resumed %v) with a revoked certificate: %v, want invalidCredentials saying revoked", i+1, resumed, err)
				}
			}
			if !resumed {
				t.Error("the second login did not resume its session")
			}
		})
	}
}
