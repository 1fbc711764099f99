package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/tlsregistry"
)

// compareWithSSLScan fails unless Scan and sslscan agree on versions,
// accepted suites and groups for the server at addr. sslscan itself drops
// findings on a busy machine (its fixed timeouts miss the slow ffdhe8192
// handshake), so a disagreement is checked against a second sslscan run
// before it counts.
func compareWithSSLScan(t *testing.T, addr string, rep *ScanReport) {
	t.Helper()
	got := rep.view()
	var want peerView
	var raw string
	for range 2 {
		want, raw = runSSLScan(t, addr)
		if want.String() == got.String() {
			return
		}
	}
	if !reflect.DeepEqual(got.Versions, want.Versions) {
		t.Errorf("versions: pkid %v, sslscan %v", got.Versions, want.Versions)
	}
	for _, v := range scanVersions {
		if !slices.Equal(got.Suites[v], want.Suites[v]) {
			t.Errorf("%s suites:\npkid    %04X\nsslscan %04X", v, got.Suites[v], want.Suites[v])
		}
		if !slices.Equal(got.Groups[v], want.Groups[v]) {
			t.Errorf("%s groups:\npkid    %04X\nsslscan %04X", v, got.Groups[v], want.Groups[v])
		}
	}
	t.Logf("pkid:\n%s\nsslscan:\n%s", reportText(rep), raw)
}

func suiteCodes(rep *ScanReport, v tlsregistry.Version) ([]uint16, bool) {
	for _, l := range rep.CipherSuites {
		if l.Version == v {
			var out []uint16
			for _, s := range l.Suites {
				out = append(out, s.Code)
			}
			return out, l.ServerOrder
		}
	}
	return nil, false
}

func sigCodes(rep *ScanReport, v tlsregistry.Version) []uint16 {
	var out []uint16
	for _, s := range rep.SignatureSchemes {
		if s.Version == v {
			out = append(out, s.Scheme)
		}
	}
	return out
}

func scanFeature(rep *ScanReport, name string) (Feature, bool) {
	for _, f := range rep.Features {
		if f.Name == name {
			return f, true
		}
	}
	return Feature{}, false
}

// TestScanOpenSSL scans `openssl s_server` set up in several ways and
// checks the findings against the configuration and against sslscan.
func TestScanOpenSSL(t *testing.T) {
	tls12, tls13 := tlsregistry.TLS12, tlsregistry.TLS13
	cases := []struct {
		name  string
		key   string
		flags []string
		// setup returns more flags, for files the server needs.
		setup func(t *testing.T) []string
		check func(t *testing.T, rep *ScanReport)
	}{
		{
			name: "ec-defaults",
			key:  "ec",
			check: func(t *testing.T, rep *ScanReport) {
				if got := sigCodes(rep, tls13); !slices.Equal(got, []uint16{0x0403}) {
					t.Errorf("TLS 1.3 signature schemes %04X, want [0403] (a P-256 key signs only with ecdsa_secp256r1_sha256)", got)
				}
				if f, _ := scanFeature(rep, "secure renegotiation"); !f.Supported || f.Verdict != tlsregistry.Fine {
					t.Errorf("secure renegotiation %+v, want supported and fine", f)
				}
				if f, _ := scanFeature(rep, "fallback protection"); !f.Supported {
					t.Errorf("fallback protection %+v, want supported", f)
				}
				if f, _ := scanFeature(rep, "compression"); f.Supported {
					t.Errorf("compression %+v, want refused", f)
				}
			},
		},
		{
			name: "rsa-cipher-groups-serverpref",
			key:  "rsa",
			flags: []string{"-cipher", "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA:ECDHE-RSA-AES128-SHA256",
				"-ciphersuites", "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", "-groups", "P-384:X25519", "-serverpref"},
			check: func(t *testing.T, rep *ScanReport) {
				if got, order := suiteCodes(rep, tls12); !slices.Equal(got, []uint16{0xC030, 0x002F, 0xC027}) || !order {
					t.Errorf("TLS 1.2 suites %04X server order %v, want [C030 002F C027] in server order", got, order)
				}
				if got, order := suiteCodes(rep, tls13); !slices.Equal(got, []uint16{0x1302, 0x1301}) || !order {
					t.Errorf("TLS 1.3 suites %04X server order %v, want [1302 1301] in server order", got, order)
				}
				want := map[tlsregistry.Version][]uint16{tls13: {0x0018, 0x001D}, tls12: {0x0018, 0x001D}}
				if got := rep.view().Groups; !reflect.DeepEqual(got, want) {
					t.Errorf("groups %v, want %v", got, want)
				}
			},
		},
		{
			name:  "rsa-client-order",
			key:   "rsa",
			flags: []string{"-cipher", "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA", "-no_tls1_3"},
			check: func(t *testing.T, rep *ScanReport) {
				if _, order := suiteCodes(rep, tls12); order {
					t.Error("server order reported for a server without -serverpref")
				}
				if f, ok := scanFeature(rep, "server cipher order (TLS 1.2)"); !ok || f.Verdict != tlsregistry.Weak {
					t.Errorf("cipher order finding %+v, want weak (client order with a CBC suite)", f)
				}
			},
		},
		{
			name:  "tls12-only",
			key:   "rsa",
			flags: []string{"-tls1_2"},
			check: func(t *testing.T, rep *ScanReport) {
				if v := rep.view().Versions; !slices.Equal(v, []tlsregistry.Version{tls12}) {
					t.Errorf("versions %v, want only TLS 1.2", v)
				}
			},
		},
		{
			name:  "tls13-only",
			key:   "ec",
			flags: []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", "-groups", "ffdhe3072:X448:P-521"},
			check: func(t *testing.T, rep *ScanReport) {
				v := rep.view()
				if !slices.Equal(v.Versions, []tlsregistry.Version{tls13}) {
					t.Errorf("versions %v, want only TLS 1.3", v.Versions)
				}
				if !slices.Equal(v.Groups[tls13], []uint16{0x0019, 0x001E, 0x0101}) {
					t.Errorf("groups %04X, want secp521r1 x448 ffdhe3072", v.Groups[tls13])
				}
				if got := sigCodes(rep, tls13); !slices.Equal(got, []uint16{0x0403}) {
					t.Errorf("TLS 1.3 signature schemes %04X (probed with a P-521 key share), want [0403]", got)
				}
			},
		},
		{
			name:  "sigalgs",
			key:   "rsa",
			flags: []string{"-sigalgs", "RSA-PSS+SHA384:rsa_pkcs1_sha256"},
			check: func(t *testing.T, rep *ScanReport) {
				if got := sigCodes(rep, tls13); !slices.Equal(got, []uint16{0x0805}) {
					t.Errorf("TLS 1.3 schemes %04X, want [0805] (PKCS#1 v1.5 is not allowed in TLS 1.3 handshakes)", got)
				}
				if got := sigCodes(rep, tls12); !slices.Equal(got, []uint16{0x0401, 0x0805}) {
					t.Errorf("TLS 1.2 schemes %04X, want [0401 0805]", got)
				}
			},
		},
		{
			name:  "ec-key-rsa-suites",
			key:   "ec",
			flags: []string{"-cipher", "AES128-SHA:AES256-GCM-SHA384", "-no_tls1_3"},
			check: func(t *testing.T, rep *ScanReport) {
				if v := rep.view().Versions; len(v) != 0 {
					t.Errorf("versions %v, want none: an EC key cannot serve RSA key-exchange suites", v)
				}
				for _, p := range rep.Protocols {
					if p.Version == tls12 && p.Detail != "alert handshake_failure" {
						t.Errorf("TLS 1.2 refusal %q, want alert handshake_failure", p.Detail)
					}
				}
			},
		},
		{
			name:  "legacy-versions",
			key:   "rsa",
			flags: []string{"-min_protocol", "TLSv1", "-cipher", "ALL:@SECLEVEL=0"},
			check: func(t *testing.T, rep *ScanReport) {
				v := rep.view()
				for _, want := range []tlsregistry.Version{tlsregistry.TLS10, tlsregistry.TLS11} {
					if !slices.Contains(v.Versions, want) {
						t.Errorf("versions %v lack %s", v.Versions, want)
					}
				}
				for _, p := range rep.Protocols {
					if p.Version == tlsregistry.TLS10 && p.Verdict != tlsregistry.Weak {
						t.Errorf("TLS 1.0 verdict %s, want weak", p.Verdict)
					}
				}
				if f, ok := scanFeature(rep, "DHE parameters (2048 bits)"); !ok || f.Verdict != tlsregistry.Fine {
					t.Errorf("DHE finding %+v, want 2048 bits and fine; features %+v", f, rep.Features)
				}
			},
		},
		{
			name:  "dhe-1024",
			key:   "rsa",
			flags: []string{"-cipher", "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", "-no_tls1_3"},
			setup: func(t *testing.T) []string {
				path := filepath.Join(t.TempDir(), "dh1024.pem")
				if out, err := exec.Command(peer.Need(t, "openssl", "openssl"), "dhparam", "-out", path, "1024").CombinedOutput(); err != nil {
					t.Fatalf("openssl dhparam: %v\n%s", err, out)
				}
				return []string{"-dhparam", path}
			},
			check: func(t *testing.T, rep *ScanReport) {
				if f, ok := scanFeature(rep, "DHE parameters (1024 bits)"); !ok || f.Verdict != tlsregistry.Weak {
					t.Errorf("DHE finding %+v, want 1024 bits and weak; features %+v", f, rep.Features)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			flags := tc.flags
			if tc.setup != nil {
				flags = append(slices.Clone(flags), tc.setup(t)...)
			}
			addr := scanOpenSSL(t, tc.key, flags...)
			rep := mustScan(t, addr)
			tc.check(t, rep)
			compareWithSSLScan(t, addr, rep)
		})
	}
}

// TestScanGnuTLS scans gnutls-serv with a priority string.
func TestScanGnuTLS(t *testing.T) {
	t.Parallel()
	serv := peer.Need(t, "gnutls-serv", "gnutls-bin")
	dir := t.TempDir()
	cert, key, _, _ := scanKey(t, dir, "ec")
	addr := scanFreeAddr(t)
	_, port, _ := scanSplitHostPort(addr)
	// gnutls-serv has no bind option; the scan and sslscan use loopback only.
	scanPeer(t, addr, serv, "-q", "-a", "-p", port, "--x509certfile", cert, "--x509keyfile", key,
		"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-SECP256R1:+GROUP-X25519")
	rep := mustScan(t, addr)
	v := rep.view()
	if want := []uint16{0xC02B, 0xCCA9}; !slices.Equal(v.Suites[tlsregistry.TLS12], want) {
		t.Errorf("TLS 1.2 suites %04X, want %04X", v.Suites[tlsregistry.TLS12], want)
	}
	if want := []uint16{0x0017, 0x001D}; !slices.Equal(v.Groups[tlsregistry.TLS13], want) {
		t.Errorf("TLS 1.3 groups %04X, want %04X", v.Groups[tlsregistry.TLS13], want)
	}
	compareWithSSLScan(t, addr, rep)
}

// TestScanNginx scans nginx with an ssl_ciphers list and server order.
func TestScanNginx(t *testing.T) {
	t.Parallel()
	nginx := peer.Need(t, "nginx", "nginx")
	dir := t.TempDir()
	cert, key, _, _ := scanKey(t, dir, "ec")
	addr := scanFreeAddr(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s ssl;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers on;
    ssl_ecdh_curve X25519:secp384r1:prime256v1;
    location / { return 200 "ok\n"; }
  }
}
`, dir, addr, cert, key)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	scanPeer(t, addr, nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	rep := mustScan(t, addr)
	got, order := suiteCodes(rep, tlsregistry.TLS12)
	if want := []uint16{0xC02C, 0xC009, 0xCCA9}; !slices.Equal(got, want) || !order {
		t.Errorf("TLS 1.2 suites %04X server order %v, want %04X in server order", got, order, want)
	}
	compareWithSSLScan(t, addr, rep)
}

// TestScanStapling gives s_server an OCSP response to staple and checks
// that the scan sees the CertificateStatus message.
func TestScanStapling(t *testing.T) {
	t.Parallel()
	openssl := peer.Need(t, "openssl", "openssl")
	dir := t.TempDir()
	certPath, keyPath, cert, key := scanKey(t, dir, "ec")
	resp, err := ocsp.CreateResponse(cert, cert, ocsp.Response{
		Status: ocsp.Good, SerialNumber: cert.SerialNumber,
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	staple := filepath.Join(dir, "staple.der")
	if err := os.WriteFile(staple, resp, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := scanFreeAddr(t)
	scanPeer(t, addr, openssl, "s_server", "-accept", addr, "-cert", certPath, "-key", keyPath, "-www", "-quiet", "-status_file", staple)
	rep := mustScan(t, addr)
	if f, ok := scanFeature(rep, "OCSP stapling"); !ok || !f.Supported || f.Verdict != tlsregistry.Fine {
		t.Errorf("stapling finding %+v, want supported and fine", f)
	}
}

// TestScanStartTLSSlapd scans OpenLDAP's slapd through LDAP StartTLS and
// compares with `sslscan --starttls-ldap`. Debian's slapd links GnuTLS, so
// TLSCipherSuite is a GnuTLS priority string.
func TestScanStartTLSSlapd(t *testing.T) {
	t.Parallel()
	slapd := peer.Need(t, "slapd", "slapd")
	dir := t.TempDir()
	cert, key, _, _ := scanKey(t, dir, "rsa")
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `include /etc/ldap/schema/core.schema
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
TLSCipherSuite NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-CBC:-KX-ALL:+ECDHE-RSA
`, dir, cert, key), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := scanFreeAddr(t)
	scanPeer(t, addr, slapd, "-f", conf, "-h", "ldap://"+addr+"/", "-d", "0")
	rep := mustScan(t, addr, func(o *ScanOptions) { o.StartTLS = "ldap" })
	if got := rep.view().Suites[tlsregistry.TLS12]; !slices.Equal(got, []uint16{0xC013, 0xC030}) {
		t.Errorf("TLS 1.2 suites %04X, want [C013 C030]", got)
	}
	// sslscan 2.0.7 cannot do LDAP StartTLS with slapd ("failed with unknown
	// error"), so openssl s_client -starttls ldap confirms each finding.
	openssl := peer.Need(t, "openssl", "openssl")
	sClient := func(args ...string) bool {
		cmd := exec.Command(openssl, append([]string{"s_client", "-connect", addr, "-starttls", "ldap"}, args...)...)
		out, err := cmd.CombinedOutput()
		return err == nil && strings.Contains(string(out), "Cipher is ")
	}
	for _, code := range []uint16{0xC013, 0xC030} {
		st, _ := tlsregistry.SuiteByCode(code)
		if !sClient("-tls1_2", "-cipher", st.OpenSSL) {
			t.Errorf("s_client -starttls ldap could not use %s, which the scan found accepted", st.OpenSSL)
		}
	}
	if sClient("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256") {
		t.Error("s_client -starttls ldap used ECDHE-RSA-AES128-GCM-SHA256, which the scan found refused")
	}
	if sClient("-tls1_3") {
		t.Error("s_client -starttls ldap negotiated TLS 1.3, which the scan found refused")
	}
}
