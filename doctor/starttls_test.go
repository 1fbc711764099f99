package doctor

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pkid/pkid/internal/peer"
)

// TestProbeStartTLSSlapd probes OpenLDAP's slapd through LDAP StartTLS and
// compares with openssl s_client -starttls ldap.
func TestProbeStartTLSSlapd(t *testing.T) {
	slapd := peer.Need(t, "slapd", "slapd")
	p := newTestPKI(t)
	start := func(verify string) string {
		dir := t.TempDir()
		conf := filepath.Join(dir, "slapd.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf(`include /etc/ldap/schema/core.schema
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCACertificateFile %[2]s
TLSCertificateFile %[3]s
TLSCertificateKeyFile %[4]s
TLSVerifyClient %[5]s
`, dir, p.clientCAFile, p.chainFile, p.server.keyFile, verify)), 0o644)
		return startPeer(t, slapd, "", "-f", conf, "-h", "ldap://127.0.0.1:{port}/", "-d", "0")
	}
	addr := start("allow")

	r := probe(t, Options{Addr: addr, StartTLS: "ldap", ServerName: "localhost", RootCAs: p.rootPool, Certificate: p.clientCert})
	if r.err != nil || len(r.Problems) > 0 {
		t.Fatalf("probe: %v %+v", r.err, r.Problems)
	}
	if !r.Verification.Verified || r.Timings.StartTLS <= 0 {
		t.Errorf("verification %+v, StartTLS time %v", r.Verification, r.Timings.StartTLS)
	}
	sc := sClient(t, addr, "-starttls", "ldap", "-CAfile", p.root.certFile)
	if got := versionOpenSSL(r); got != sc.protocol {
		t.Errorf("version: probe %s, s_client %s", got, sc.protocol)
	}
	if r.CertificateRequest == nil || !slices.Equal(r.CertificateRequest.AcceptableCAs, sc.acceptableCAs) {
		t.Errorf("acceptable CAs: probe %+v, s_client %q", r.CertificateRequest, sc.acceptableCAs)
	}
	if cc := r.ClientCertificate; cc == nil || !cc.Sent || !cc.MatchesAcceptableCA {
		t.Errorf("client certificate %+v", cc)
	}

	// TLSVerifyClient demand without a certificate: the doctor explains
	// the alert slapd sends and names the CAs it accepts.
	addr = start("demand")
	r = probe(t, Options{Addr: addr, StartTLS: "ldap", ServerName: "localhost", RootCAs: p.rootPool})
	e := findProblem(t, r, "client_certificate_required")
	mustContain(t, "fix", e.Fix, "CN=Test Issuing CA,O=pkid test")
	mustContain(t, "observed", e.Observed, "closed the connection right after the handshake, without an alert")
	// s_client sees the same: no alert, an unexpected EOF.
	sc = sClient(t, addr, "-starttls", "ldap", "-CAfile", p.root.certFile, "-ign_eof")
	if r.Alert != nil || sc.alert != "" || !strings.Contains(sc.out, "unexpected eof") {
		t.Errorf("alert: probe %+v, s_client %q\n%s", r.Alert, sc.alert, sc.out)
	}
}

func versionOpenSSL(r *Report) string {
	return map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[r.VersionCode]
}

// stubStartTLS is a minimal SMTP, IMAP or PostgreSQL server that upgrades
// to TLS (no such servers are installed); openssl s_client -starttls checks
// the stub speaks the protocol as real clients expect.
func stubStartTLS(t *testing.T, proto string, cert *tls.Certificate) string {
	cfg := &tls.Config{Certificates: []tls.Certificate{*cert}}
	return rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line := func() string { s, _ := br.ReadString('\n'); return strings.TrimSpace(s) }
		switch proto {
		case "smtp":
			io.WriteString(c, "220 stub ESMTP\r\n")
			for {
				l := strings.ToUpper(line())
				switch {
				case strings.HasPrefix(l, "EHLO"):
					io.WriteString(c, "250-stub\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
					continue
				case l == "STARTTLS":
					io.WriteString(c, "220 2.0.0 Ready to start TLS\r\n")
				default:
					return
				}
				break
			}
		case "imap":
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] stub ready\r\n")
			for {
				f := strings.Fields(line())
				if len(f) < 2 {
					return
				}
				if strings.EqualFold(f[1], "CAPABILITY") {
					io.WriteString(c, "* CAPABILITY IMAP4rev1 STARTTLS\r\n"+f[0]+" OK done\r\n")
					continue
				}
				if strings.EqualFold(f[1], "STARTTLS") {
					io.WriteString(c, f[0]+" OK Begin TLS negotiation now\r\n")
					break
				}
				return
			}
		case "postgres":
			b := make([]byte, 8)
			if _, err := io.ReadFull(br, b); err != nil || binary.BigEndian.Uint32(b[4:]) != 80877103 {
				return
			}
			c.Write([]byte{'S'})
		}
		tc := tls.Server(&bufConn{Conn: c, r: br}, cfg)
		if tc.Handshake() == nil {
			tc.Read(make([]byte, 1))
		}
	})
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func TestProbeStartTLSProtocols(t *testing.T) {
	p := newTestPKI(t)
	for _, proto := range []string{"smtp", "imap", "postgres"} {
		t.Run(proto, func(t *testing.T) {
			addr := stubStartTLS(t, proto, p.server.tlsCert(p.inter))
			r := probe(t, Options{Addr: addr, StartTLS: proto, ServerName: "localhost", RootCAs: p.rootPool})
			if r.err != nil || !r.Verification.Verified {
				t.Fatalf("probe: %v %+v", r.err, r.Problems)
			}
			sc := sClient(t, addr, "-starttls", proto, "-CAfile", p.root.certFile)
			if got := versionOpenSSL(r); got != sc.protocol {
				t.Errorf("version: probe %s, s_client %s\n%s", got, sc.protocol, sc.out)
			}
		})
	}
	t.Run("ldap refused", func(t *testing.T) {
		// An LDAP server without TLS answers StartTLS with protocolError (2).
		addr := rawServer(t, func(c net.Conn) {
			if _, err := readBER(c, 1024); err != nil {
				return
			}
			c.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00})
		})
		r := probe(t, Options{Addr: addr, StartTLS: "ldap"})
		e := findProblem(t, r, "starttls")
		mustContain(t, "observed", e.Observed, "resultCode 2", "protocolError")
	})
}
