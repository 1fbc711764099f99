package doctor

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/revocation"
)

// TestExplainError covers errors from TLS connections made elsewhere
// (crypto/tls clients, the LDAP client), without a report.
func TestExplainError(t *testing.T) {
	cert := &x509.Certificate{DNSNames: []string{"a.example"}}
	cases := []struct {
		name string
		err  error
		want string
		in   string
	}{
		{"remote alert by type", &net.OpError{Op: "remote error", Err: fakeAlert(42)}, "alert", "42 bad_certificate"},
		{"remote alert by text", errors.New("x: remote error: tls: protocol version not supported"), "protocol_version", "70 protocol_version"},
		{"certificate required", errors.New("remote error: tls: certificate required"), "alert", "116 certificate_required"},
		{"unknown alert", errors.New("remote error: tls: alert(200)"), "alert", "alert 200"},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "connection_refused", "connection refused"},
		{"unknown authority", fmt.Errorf("tls: failed to verify certificate: %w", x509.UnknownAuthorityError{}), "untrusted_chain", "unknown authority"},
		{"hostname", x509.HostnameError{Certificate: cert, Host: "b.example"}, "hostname_mismatch", "b.example"},
		{"expired", x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired}, "expired", "expired"},
		{"revoked", &revocation.RevokedError{Certificate: cert, Reason: revocation.KeyCompromise, RevokedAt: time.Unix(0, 0), Source: "the CRL at http://x/c.crl"}, "revoked", "keyCompromise"},
		{"unreachable", &revocation.UnknownError{Certificate: cert, Errs: []error{&revocation.SourceError{Source: "the CRL at http://x/c.crl", Err: revocation.ErrUnavailable}}}, "revocation_unreachable", "http://x/c.crl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := ExplainError(tc.err)
			if len(es) == 0 || es[0].ID != tc.want {
				t.Fatalf("got %+v, want %s", es, tc.want)
			}
			mustContain(t, "observed", es[0].Observed, tc.in)
			if es[0].Cause == "" || es[0].Fix == "" {
				t.Errorf("empty cause or fix: %+v", es[0])
			}
		})
	}
	if ExplainError(nil) != nil {
		t.Error("nil error explained")
	}
}

// fakeAlert has the shape of crypto/tls's unexported alert type.
type fakeAlert uint8

func (a fakeAlert) Error() string { return fmt.Sprintf("tls: alert(%d)", uint8(a)) }
