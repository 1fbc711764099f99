package doctor

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/tlsregistry"
)

func probe(t *testing.T, opts Options) *Report {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.TicketWait == 0 {
		// Generous: a loaded machine must not turn a TLS 1.3 alert that
		// comes after the handshake into a missed one.
		opts.TicketWait = 3 * time.Second
	}
	r, err := Probe(context.Background(), opts)
	if r == nil {
		t.Fatalf("Probe: no report: %v", err)
	}
	if (err != nil) != (r.err != nil) {
		t.Fatalf("Probe returned %v but the report says %v", err, r.err)
	}
	return r
}

func problemIDs(r *Report) []string {
	var ids []string
	for _, p := range r.Problems {
		ids = append(ids, p.ID)
	}
	return ids
}

func findProblem(t *testing.T, r *Report, id string) Explanation {
	t.Helper()
	for _, p := range r.Problems {
		if p.ID == id {
			if p.Observed == "" || p.Cause == "" || p.Fix == "" {
				t.Errorf("explanation %s has an empty part: %+v", id, p)
			}
			return p
		}
	}
	t.Fatalf("no %s explanation; got %v (error %v)\n%+v", id, problemIDs(r), r.err, r.Problems)
	return Explanation{}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

// TestProbeMatchesSClient checks that probe's facts for a working handshake
// equal what openssl s_client reports against the same server.
func TestProbeMatchesSClient(t *testing.T) {
	p := newTestPKI(t)
	cases := []struct {
		name      string
		server    []string
		opts      Options
		wantGroup string // tlsregistry name of the group s_client names
	}{
		{"tls12-ecdsa-p256", []string{"-cert", p.server.certFile, "-key", p.server.keyFile, "-cert_chain", p.inter.certFile, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-groups", "P-256"}, Options{}, "secp256r1"},
		{"tls12-rsa-chacha", []string{"-cert", p.rsaServer.certFile, "-key", p.rsaServer.keyFile, "-cert_chain", p.inter.certFile, "-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305", "-groups", "X25519"}, Options{}, "x25519"},
		{"tls13-aes128", []string{"-cert", p.server.certFile, "-key", p.server.keyFile, "-cert_chain", p.inter.certFile, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-groups", "X25519"}, Options{}, "x25519"},
		{"tls13-p384", []string{"-cert", p.server.certFile, "-key", p.server.keyFile, "-cert_chain", p.inter.certFile, "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-groups", "P-384"}, Options{}, "secp384r1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := sServer(t, tc.server...)
			opts := tc.opts
			opts.Addr, opts.ServerName, opts.RootCAs = addr, "localhost", p.rootPool
			r := probe(t, opts)
			if r.err != nil || len(r.Problems) > 0 {
				t.Fatalf("probe failed: %v %+v", r.err, r.Problems)
			}
			sc := sClient(t, addr, "-CAfile", p.root.certFile, "-showcerts")
			if sc.protocol == "" {
				t.Logf("s_client:\n%s", sc.out)
			}
			if got := tlsregistry.Version(r.VersionCode).OpenSSL(); got != sc.protocol {
				t.Errorf("version: probe %s, s_client %s", got, sc.protocol)
			}
			if r.Suite.OpenSSL != sc.cipher {
				t.Errorf("cipher: probe %s (%s), s_client %s", r.Suite.OpenSSL, r.Suite.Hex, sc.cipher)
			}
			g, ok := tlsregistry.GroupByName(strings.TrimPrefix(sc.tempKey, "ECDH, "))
			if !ok || g.Name != r.Group || g.Name != tc.wantGroup {
				t.Errorf("group: probe %s, s_client %q, want %s", r.Group, sc.tempKey, tc.wantGroup)
			}
			var subjects []string
			for _, c := range r.Chain {
				subjects = append(subjects, c.Subject)
			}
			if !slices.Equal(subjects, sc.chain) || len(subjects) != 2 {
				t.Errorf("chain: probe %q, s_client %q", subjects, sc.chain)
			}
			if !r.Verification.Verified || len(r.Verification.Chains) != 1 || len(r.Verification.Chains[0]) != 3 {
				t.Errorf("verification: %+v", r.Verification)
			}
			if !r.Session.TicketReceived || !r.Session.Resumed {
				t.Errorf("session: %+v", r.Session)
			}
			if r.Timings.Handshake <= 0 || r.Timings.Total < r.Timings.Handshake {
				t.Errorf("timings: %+v", r.Timings)
			}
		})
	}
}

// TestProbeCertificateRequest checks the acceptable CA names, certificate
// types (read from the wire in TLS 1.2) and signature algorithms against
// s_client's, and that our --cert is matched to the CA names.
func TestProbeCertificateRequest(t *testing.T) {
	p := newTestPKI(t)
	for _, tc := range []struct{ v, sigalgs string }{
		{"-tls1_2", "ECDSA+SHA256:RSA-PSS+SHA256:RSA+SHA256:ed25519"},
		{"-tls1_3", "ECDSA+SHA256:RSA-PSS+SHA256:RSA+SHA256:ed25519"},
		{"-tls1_2", ""}, // OpenSSL's default list, with algorithms crypto/tls lacks
		{"-tls1_3", ""},
	} {
		v := tc.v
		t.Run(v+"-"+tc.sigalgs, func(t *testing.T) {
			args := []string{"-cert", p.server.certFile, "-key", p.server.keyFile, "-cert_chain", p.inter.certFile, v,
				"-verify", "1", "-CAfile", p.clientCAFile}
			if tc.sigalgs != "" {
				args = append(args, "-client_sigalgs", tc.sigalgs)
			}
			addr := sServer(t, args...)
			r := probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool, Certificate: p.clientCert})
			if r.err != nil {
				t.Fatalf("probe: %v %+v", r.err, r.Problems)
			}
			sc := sClient(t, addr, "-CAfile", p.root.certFile, "-cert", p.client.certFile, "-key", p.client.keyFile)
			cr := r.CertificateRequest
			if cr == nil {
				t.Fatal("no CertificateRequest in the report")
			}
			if !slices.Equal(cr.AcceptableCAs, sc.acceptableCAs) || len(sc.acceptableCAs) != 2 {
				t.Errorf("acceptable CAs: probe %q, s_client %q", cr.AcceptableCAs, sc.acceptableCAs)
			}
			if !slices.Equal(cr.CertificateTypes, sc.certTypes) {
				t.Errorf("certificate types: probe %q, s_client %q", cr.CertificateTypes, sc.certTypes)
			}
			if v == "-tls1_2" && len(cr.CertificateTypes) == 0 {
				t.Error("TLS 1.2 certificate types not read from the wire")
			}
			if !slices.Equal(cr.SignatureAlgorithms, sc.sigAlgs) || len(sc.sigAlgs) == 0 {
				t.Errorf("signature algorithms: probe %q, s_client %q", cr.SignatureAlgorithms, sc.sigAlgs)
			}
			cc := r.ClientCertificate
			if cc == nil || !cc.Sent || !cc.MatchesAcceptableCA || cc.MatchedCA != "CN=Test Issuing CA,O=pkid test" {
				t.Errorf("client certificate: %+v", cc)
			}
		})
	}
}

// TestProbeClientChainToAcceptableCA: the server names only the root; our
// --cert holds only the leaf, and the chain built through --ca reaches it.
func TestProbeClientChainToAcceptableCA(t *testing.T) {
	p := newTestPKI(t)
	addr := sServer(t, "-cert", p.server.certFile, "-key", p.server.keyFile, "-cert_chain", p.inter.certFile, "-tls1_2",
		"-verify", "1", "-CAfile", p.root.certFile, "-verifyCAfile", p.clientCAFile)
	pool := p.rootPool.Clone()
	pool.AddCert(p.inter.cert) // the intermediate is known locally, not sent
	r := probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: pool, Certificate: p.client.tlsCert()})
	cc := r.ClientCertificate
	if cc == nil || !cc.MatchesAcceptableCA || cc.MatchedCA != "CN=Test Root,O=pkid test" {
		t.Errorf("client certificate %+v; acceptable %+v", cc, r.CertificateRequest)
	}
	// Without the chain the match cannot be made.
	r = probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool, Certificate: p.foreignClientCertTLS})
	if cc := r.ClientCertificate; cc == nil || cc.MatchesAcceptableCA {
		t.Errorf("foreign client certificate matched: %+v", cc)
	}
}
