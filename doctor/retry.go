package doctor

import (
	"context"
	"crypto/tls"
	"strings"
	"time"
)

// allSuites is every TLS 1.0–1.2 suite crypto/tls implements, insecure ones
// included: the broadest offer the doctor can make without its own
// ClientHello writer.
func allSuites() []uint16 {
	var out []uint16
	for _, s := range tls.CipherSuites() {
		out = append(out, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		out = append(out, s.ID)
	}
	return out
}

// retry makes up to two extra handshakes after a failure to learn what the
// server would accept: the broadest suite offer, and the other protocol
// versions. Each is bounded by a short timeout.
func (p *prober) retry(ctx context.Context, r *Report) {
	code := uint8(0)
	if r.Alert != nil {
		code = r.Alert.Code
	}
	noShared := (code == 40 || code == 71) && !r.requested
	var tries []struct {
		purpose    string
		minV, maxV uint16
		suites     []uint16
	}
	add := func(purpose string, minV, maxV uint16, suites []uint16) {
		tries = append(tries, struct {
			purpose    string
			minV, maxV uint16
			suites     []uint16
		}{purpose, minV, maxV, suites})
	}
	switch {
	case code == 70 || (r.Alert == nil && !r.serverHello && isVersionError(r.err)):
		add("every version from TLS 1.0 to TLS 1.3", tls.VersionTLS10, tls.VersionTLS13, allSuites())
	case noShared || isNoSharedError(r.err):
		if p.minV < tls.VersionTLS13 {
			add("every cipher suite crypto/tls implements (TLS 1.0–1.2)", p.minV, min(p.maxV, tls.VersionTLS12), allSuites())
		}
		if p.maxV < tls.VersionTLS13 {
			add("TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, nil)
		}
	}
	for _, t := range tries {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		a := &attempt{cache: newNotifyingCache()}
		cfg := p.config(a, t.minV, t.maxV, t.suites)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{}, nil
		}
		err := p.handshake(rctx, a, cfg)
		cancel()
		rt := Retry{Purpose: t.purpose}
		if err != nil {
			rt.Error = err.Error()
		} else {
			cs := a.conn.ConnectionState()
			a.conn.Close()
			rt.OK = true
			rt.Version = versionName(cs.Version)
			s := suiteOf(cs.CipherSuite)
			rt.Suite = &s
			if len(cs.PeerCertificates) > 0 {
				rt.ServerKey, _, _ = keyInfo(cs.PeerCertificates[0].PublicKey)
			}
		}
		r.Retries = append(r.Retries, rt)
	}
}

func isVersionError(err error) bool {
	return err != nil && (contains(err, "protocol version") || contains(err, "unsupported protocol") || contains(err, "server selected unsupported"))
}

func isNoSharedError(err error) bool {
	return err != nil && (contains(err, "no cipher suite supported by both") || contains(err, "no mutually supported"))
}

func contains(err error, s string) bool { return strings.Contains(err.Error(), s) }
