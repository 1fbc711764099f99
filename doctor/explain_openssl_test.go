package doctor

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/revocation"
)

// serveBytes serves body at /PATH on a loopback HTTP server and returns its
// base URL.
func serveBytes(t *testing.T, files map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func makeCRL(t *testing.T, issuer *issued, revoked ...x509.RevocationListEntry) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                time.Now().Add(-time.Minute),
		NextUpdate:                time.Now().Add(time.Hour),
		RevokedCertificateEntries: revoked,
	}, issuer.cert, issuer.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestExplainOpenSSL sets up openssl s_server to fail in each way the doctor
// explains, and checks the explanation and that the alert probe reports is
// the one s_client sees.
func TestExplainOpenSSL(t *testing.T) {
	p := newTestPKI(t)
	dir := p.dir
	ecKey := []string{"-cert", p.server.certFile, "-key", p.server.keyFile, "-cert_chain", p.inter.certFile}
	rsaKey := []string{"-cert", p.rsaServer.certFile, "-key", p.rsaServer.keyFile, "-cert_chain", p.inter.certFile}
	cat := func(a ...[]string) []string {
		var out []string
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}

	// A client certificate without clientAuth (server EKU only).
	st := leafTemplate("server as client")
	st.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	serverAsClient := issue(t, dir, "serverasclient", st, newKey(t, "ec"), p.inter)

	// A client certificate without an authority key identifier: sign with
	// a copy of the issuer that has no SKI to copy from.
	interNoSKI := *p.inter
	c := *p.inter.cert
	c.SubjectKeyId = nil
	interNoSKI.cert = &c
	ct := leafTemplate("no aki")
	ct.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	noAKIClient := issue(t, dir, "noaki", ct, newKey(t, "ec"), &interNoSKI)

	// A client certificate whose key usage does not allow signing.
	kt := leafTemplate("bad key usage")
	kt.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	kt.KeyUsage = x509.KeyUsageKeyEncipherment
	badKU := issue(t, dir, "badku", kt, newKey(t, "ec"), p.inter)

	// The server's leaf alone, with an AIA caIssuers URL serving the
	// intermediate.
	aiaURL := serveBytes(t, map[string][]byte{"/inter.der": p.inter.cert.Raw})
	at := leafTemplate("localhost")
	at.IssuingCertificateURL = []string{aiaURL + "/inter.der"}
	aiaLeaf := issue(t, dir, "aialeaf", at, newKey(t, "ec"), p.inter)

	// A leaf whose caIssuers URL is a 404, and one valid only tomorrow.
	bt := leafTemplate("localhost")
	bt.IssuingCertificateURL = []string{aiaURL + "/missing.der"}
	badAIALeaf := issue(t, dir, "badaia", bt, newKey(t, "ec"), p.inter)
	ft := leafTemplate("localhost")
	ft.NotBefore, ft.NotAfter = time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour)
	future := issue(t, dir, "future", ft, newKey(t, "ec"), p.inter)

	// An expired server certificate.
	et := leafTemplate("localhost")
	et.NotBefore, et.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	expired := issue(t, dir, "expired", et, newKey(t, "ec"), p.inter)

	// A revoked server certificate, listed on the CRL its CDP names.
	revokedAt := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	rt := leafTemplate("localhost")
	rt.SerialNumber = big.NewInt(777001)
	crlURL := ""
	crlFiles := map[string][]byte{}
	crlURL = serveBytes(t, crlFiles)
	rt.CRLDistributionPoints = []string{crlURL + "/inter.crl"}
	revokedLeaf := issue(t, dir, "revoked", rt, newKey(t, "ec"), p.inter)
	crlFiles["/inter.crl"] = makeCRL(t, p.inter, x509.RevocationListEntry{SerialNumber: rt.SerialNumber, RevocationTime: revokedAt, ReasonCode: 1})

	// A server certificate whose CRL distribution point is unreachable.
	ut := leafTemplate("localhost")
	ut.CRLDistributionPoints = []string{fmt.Sprintf("http://127.0.0.1:%d/gone.crl", freePort(t))}
	unreachable := issue(t, dir, "unreachable", ut, newKey(t, "ec"), p.inter)

	// A stapled OCSP response saying the leaf is revoked.
	ocspDER, err := ocsp.CreateResponse(p.inter.cert, p.inter.cert, ocsp.Response{
		Status: ocsp.Revoked, SerialNumber: p.server.cert.SerialNumber, RevokedAt: revokedAt,
		RevocationReason: ocsp.Superseded, ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
	}, p.inter.key)
	if err != nil {
		t.Fatal(err)
	}
	stapleFile := filepath.Join(dir, "staple.der")
	os.WriteFile(stapleFile, ocspDER, 0o644)

	// An issuing CA without cRLSign.
	nt := caTemplate("No CRLSign CA")
	nt.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	noCRLSign := issue(t, dir, "nocrlsign", nt, newKey(t, "ec"), p.root)
	noCRLSignLeaf := issue(t, dir, "nocrlsignleaf", leafTemplate("localhost"), newKey(t, "ec"), noCRLSign)

	leafOnly := revocation.New(revocation.Config{LeafOnly: true})

	cases := []struct {
		name    string
		server  []string
		opts    Options
		sclient []string // s_client flags to reproduce; "" alert check skipped when nil
		want    string   // explanation ID
		check   func(t *testing.T, r *Report, e Explanation)
	}{
		{
			name: "no shared cipher: EC key, RSA-only suites, TLS 1.2 only", server: cat(ecKey, []string{"-tls1_2", "-cipher", "AES256-SHA"}),
			sclient: []string{"-tls1_2"}, want: "no_shared_cipher",
			check: func(t *testing.T, r *Report, e Explanation) {
				if r.Alert == nil || r.Alert.Code != 40 || r.Alert.Stage != "in answer to our ClientHello" {
					t.Errorf("alert: %+v", r.Alert)
				}
				mustContain(t, "observed", e.Observed, "alert 40 handshake_failure", "C02B")
				mustContain(t, "cause", e.Cause, "0035")
			},
		},
		{
			name: "key type mismatch learned over TLS 1.3", server: cat(ecKey, []string{"-cipher", "AES256-SHA"}),
			opts: Options{TLS12Only: true}, sclient: []string{"-tls1_2"}, want: "key_type_mismatch",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "cause", e.Cause, "0035", "434")
				mustContain(t, "fix", e.Fix, "C02B")
			},
		},
		{
			name: "legacy-only server: learns the suite it takes", server: cat(rsaKey, []string{"-tls1_2", "-cipher", "AES256-SHA"}),
			sclient: []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}, want: "no_shared_cipher",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "0035 TLS_RSA_WITH_AES_256_CBC_SHA (AES256-SHA)")
			},
		},
		{
			name: "no shared group: TLS 1.3 server with ffdhe2048 only", server: cat(ecKey, []string{"-tls1_3", "-groups", "ffdhe2048"}),
			sclient: []string{"-groups", "X25519:P-256"}, want: "no_shared_cipher",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "x25519, secp256r1")
				mustContain(t, "cause", e.Cause, "group")
			},
		},
		{
			name: "no shared signature algorithm: -sigalgs RSA+SHA1", server: cat(rsaKey, []string{"-tls1_2", "-sigalgs", "RSA+SHA1"}),
			sclient: []string{"-sigalgs", "RSA+SHA256:ECDSA+SHA256"}, want: "no_shared_cipher",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "RSA+SHA256")
				mustContain(t, "cause", e.Cause, "signature algorithm")
			},
		},
		{
			name: "client certificate required, TLS 1.2", server: cat(ecKey, []string{"-tls1_2", "-Verify", "1", "-CAfile", p.clientCAFile}),
			sclient: []string{}, want: "client_certificate_required",
			check: func(t *testing.T, r *Report, e Explanation) {
				if r.Alert == nil || r.Alert.Code != 40 {
					t.Errorf("alert %+v", r.Alert)
				}
				mustContain(t, "fix", e.Fix, "CN=Test Issuing CA,O=pkid test", "CN=Test Root,O=pkid test")
			},
		},
		{
			// -ign_eof: the TLS 1.3 alert comes after the handshake, and
			// s_client must still be reading to see it.
			name: "client certificate required, TLS 1.3", server: cat(ecKey, []string{"-tls1_3", "-Verify", "1", "-CAfile", p.clientCAFile}),
			sclient: []string{"-ign_eof"}, want: "client_certificate_required",
			check: func(t *testing.T, r *Report, e Explanation) {
				if r.Alert == nil || r.Alert.Code != 116 {
					t.Errorf("alert %+v", r.Alert)
				}
				mustContain(t, "fix", e.Fix, "CN=Test Issuing CA,O=pkid test")
			},
		},
		{
			name: "client certificate from an unknown CA", server: cat(ecKey, []string{"-tls1_2", "-Verify", "1", "-verify_return_error", "-CAfile", p.clientCAFile}),
			opts:    Options{Certificate: p.foreignClientCertTLS},
			sclient: []string{"-cert", p.foreignClient.certFile, "-key", p.foreignClient.keyFile}, want: "client_certificate_rejected",
			check: func(t *testing.T, r *Report, e Explanation) {
				if r.Alert == nil || r.Alert.Code != 48 || r.Alert.Stage != "after we sent our certificate" {
					t.Errorf("alert %+v", r.Alert)
				}
				mustContain(t, "cause", e.Cause, "does not trust", "CN=Test Root,O=pkid test")
			},
		},
		{
			name: "client certificate without clientAuth, TLS 1.2", server: cat(ecKey, []string{"-tls1_2", "-Verify", "1", "-verify_return_error", "-CAfile", p.clientCAFile}),
			opts:    Options{Certificate: serverAsClient.tlsCert(p.inter)},
			sclient: []string{"-cert", serverAsClient.certFile, "-key", serverAsClient.keyFile, "-cert_chain", p.inter.certFile}, want: "client_certificate_rejected",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "cause", e.Cause, "clientAuth")
			},
		},
		{
			// TLS 1.3 servers judge the client certificate after the
			// handshake: -ign_eof keeps s_client reading until the alert.
			name: "client certificate without clientAuth, TLS 1.3", server: cat(ecKey, []string{"-tls1_3", "-Verify", "1", "-verify_return_error", "-CAfile", p.clientCAFile}),
			opts:    Options{Certificate: serverAsClient.tlsCert(p.inter)},
			sclient: []string{"-ign_eof", "-cert", serverAsClient.certFile, "-key", serverAsClient.keyFile, "-cert_chain", p.inter.certFile}, want: "client_certificate_rejected",
			check: func(t *testing.T, r *Report, e Explanation) {
				if r.Alert == nil || r.Alert.Code != 43 || !strings.Contains(r.Alert.Stage, "after we sent our certificate") {
					t.Errorf("alert %+v", r.Alert)
				}
				mustContain(t, "cause", e.Cause, "clientAuth")
			},
		},
		{
			name: "client certificate without authority key identifier (x509_strict)", server: cat(ecKey, []string{"-tls1_2", "-Verify", "1", "-verify_return_error", "-x509_strict", "-CAfile", p.clientCAFile}),
			opts:    Options{Certificate: noAKIClient.tlsCert(p.inter)},
			sclient: []string{"-cert", noAKIClient.certFile, "-key", noAKIClient.keyFile, "-cert_chain", p.inter.certFile}, want: "client_certificate_rejected",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "cause", e.Cause, "authority key identifier")
			},
		},
		{
			name: "client certificate with an unacceptable key usage", server: cat(ecKey, []string{"-tls1_2", "-Verify", "1", "-verify_return_error", "-CAfile", p.clientCAFile}),
			opts:    Options{Certificate: badKU.tlsCert(p.inter)},
			sclient: []string{"-cert", badKU.certFile, "-key", badKU.keyFile, "-cert_chain", p.inter.certFile}, want: "client_certificate_rejected",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "cause", e.Cause, "keyEncipherment")
			},
		},
		{
			name: "EC client certificate, server accepts only RSA", server: cat(rsaKey, []string{"-tls1_2", "-Verify", "1", "-CAfile", p.clientCAFile, "-client_sigalgs", "RSA+SHA256:RSA-PSS+SHA256"}),
			opts: Options{Certificate: p.clientCert}, want: "client_key_type_mismatch",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "EC key", "RSA+SHA256")
			},
		},
		{
			name: "intermediate not sent, AIA completes the chain", server: []string{"-cert", aiaLeaf.certFile, "-key", aiaLeaf.keyFile},
			want: "untrusted_chain",
			check: func(t *testing.T, r *Report, e Explanation) {
				v := r.Verification
				if v.IntermediatesSent != 0 || v.MissingIssuer != "CN=Test Issuing CA,O=pkid test" || v.AIA == nil || !v.AIA.CompletesChain {
					t.Errorf("verification %+v", v)
				}
				mustContain(t, "fix", e.Fix, "send the intermediate")
				mustContain(t, "client would say", v.ClientWouldSay, "certificate signed by unknown authority")
			},
		},
		{
			name: "intermediate not sent, AIA fetch fails", server: []string{"-cert", badAIALeaf.certFile, "-key", badAIALeaf.keyFile},
			want: "untrusted_chain",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "missing.der failed: HTTP 404")
				mustContain(t, "fix", e.Fix, "full chain")
			},
		},
		{
			name: "server certificate not yet valid", server: []string{"-cert", future.certFile, "-key", future.keyFile, "-cert_chain", p.inter.certFile},
			want: "not_yet_valid",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "CN=localhost,O=pkid test", "valid from")
			},
		},
		{
			name: "root not trusted", server: ecKey, opts: Options{RootCAs: x509.NewCertPool()},
			want: "untrusted_chain",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "missing: CN=Test Root,O=pkid test")
				mustContain(t, "fix", e.Fix, "--ca")
			},
		},
		{
			name: "expired server certificate", server: []string{"-cert", expired.certFile, "-key", expired.keyFile, "-cert_chain", p.inter.certFile},
			want: "expired",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "CN=localhost,O=pkid test", "expired")
				mustContain(t, "client would say", r.Verification.ClientWouldSay, "expired")
			},
		},
		{
			name: "hostname mismatch", server: ecKey, opts: Options{ServerName: "www.example.org"},
			want: "hostname_mismatch",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "www.example.org", "DNS:localhost", "IP:127.0.0.1")
			},
		},
		{
			name: "revoked on the CRL", server: []string{"-cert", revokedLeaf.certFile, "-key", revokedLeaf.keyFile, "-cert_chain", p.inter.certFile},
			opts: Options{Revocation: leafOnly}, want: "revoked",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "keyCompromise", revokedAt.UTC().Format("2006-01-02 15:04"), crlURL+"/inter.crl")
				if r.Revocation == nil || r.Revocation.Statuses[0].State != "revoked" || r.Revocation.Statuses[0].Method != "CRL" {
					t.Errorf("revocation %+v", r.Revocation)
				}
			},
		},
		{
			name: "revoked in the stapled OCSP response", server: cat(ecKey, []string{"-status_file", stapleFile}),
			opts: Options{Revocation: leafOnly}, want: "revoked",
			check: func(t *testing.T, r *Report, e Explanation) {
				if r.OCSPStaple == nil || r.OCSPStaple.Status != "revoked" || r.OCSPStaple.Reason != "superseded" {
					t.Errorf("staple %+v", r.OCSPStaple)
				}
				if r.Revocation == nil || r.Revocation.Statuses[0].Method != "staple" {
					t.Errorf("revocation %+v", r.Revocation)
				}
				mustContain(t, "observed", e.Observed, "superseded")
			},
		},
		{
			name: "CRL unreachable", server: []string{"-cert", unreachable.certFile, "-key", unreachable.keyFile, "-cert_chain", p.inter.certFile},
			opts: Options{Revocation: leafOnly}, want: "revocation_unreachable",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, ut.CRLDistributionPoints[0], "refused")
			},
		},
		{
			name: "issuing CA without cRLSign", server: []string{"-cert", noCRLSignLeaf.certFile, "-key", noCRLSignLeaf.keyFile, "-cert_chain", noCRLSign.certFile},
			want: "ca_without_crlsign",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "No CRLSign CA")
			},
		},
		{
			name: "protocol version: TLS 1.3-only server, TLS 1.2 client", server: cat(ecKey, []string{"-tls1_3"}),
			opts: Options{TLS12Only: true}, sclient: []string{"-tls1_2"}, want: "protocol_version",
			check: func(t *testing.T, r *Report, e Explanation) {
				if r.Alert == nil || r.Alert.Code != 70 {
					t.Errorf("alert %+v", r.Alert)
				}
				mustContain(t, "observed", e.Observed, "chose TLS 1.3")
			},
		},
		{
			name: "protocol version: TLS 1.2-only server, TLS 1.3 client", server: cat(ecKey, []string{"-tls1_2"}),
			opts: Options{TLS13Only: true}, sclient: []string{"-tls1_3"}, want: "protocol_version",
			check: func(t *testing.T, r *Report, e Explanation) {
				mustContain(t, "observed", e.Observed, "chose TLS 1.2")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := sServer(t, tc.server...)
			opts := tc.opts
			opts.Addr = addr
			if opts.ServerName == "" {
				opts.ServerName = "localhost"
			}
			if opts.RootCAs == nil {
				opts.RootCAs = p.rootPool
			}
			r := probe(t, opts)
			e := findProblem(t, r, tc.want)
			if tc.check != nil {
				tc.check(t, r, e)
			}
			if tc.sclient != nil {
				sc := sClient(t, addr, append([]string{"-CAfile", p.root.certFile}, tc.sclient...)...)
				if r.Alert == nil || sc.alert != r.Alert.Name {
					t.Errorf("alert: probe %+v, s_client %q", r.Alert, sc.alert)
				}
			}
			t.Logf("alert %+v; %s: %s", r.Alert, e.ID, e.Observed)
			if t.Failed() {
				t.Logf("report: error %v alert %+v\nproblems: %+v\nretries: %+v", r.err, r.Alert, r.Problems, r.Retries)
			}
		})
	}
	_ = strings.Contains
}
