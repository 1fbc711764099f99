package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pkid/pkid/internal/peer"
)

// TestProbeNginx probes nginx requiring a client certificate
// (ssl_verify_client on) and compares with openssl s_client.
func TestProbeNginx(t *testing.T) {
	nginx := peer.Need(t, "nginx", "nginx")
	p := newTestPKI(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	write := func(port string) {
		os.WriteFile(conf, []byte(fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen 127.0.0.1:%[2]s ssl;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_client_certificate %[5]s;
    ssl_verify_client on;
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384;
    location / { return 200 "ok\n"; }
  }
}
`, dir, port, p.chainFile, p.server.keyFile, p.clientCAFile)), 0o644)
	}
	// nginx reads its port from the file: write it per attempt through a
	// wrapper that startPeer's {port} substitution reaches.
	wrapper := filepath.Join(dir, "run.sh")
	os.WriteFile(wrapper, []byte("#!/bin/sh\nsed -i \"s/listen 127.0.0.1:[0-9A-Z]*/listen 127.0.0.1:$1/\" "+conf+"\nexec "+nginx+" -e "+dir+"/error.log -p "+dir+" -c "+conf+"\n"), 0o755)
	write("PORT")
	addr := startPeer(t, "/bin/sh", "", wrapper, "{port}")

	r := probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool, Certificate: p.clientCert})
	if r.err != nil || len(r.Problems) > 0 {
		t.Fatalf("probe: %v %+v", r.err, r.Problems)
	}
	sc := sClient(t, addr, "-CAfile", p.root.certFile)
	if r.Suite.OpenSSL != sc.cipher || versionOpenSSL(r) != sc.protocol {
		t.Errorf("probe %s %s, s_client %s %s", versionOpenSSL(r), r.Suite.OpenSSL, sc.protocol, sc.cipher)
	}
	cr := r.CertificateRequest
	if cr == nil || !slices.Equal(cr.AcceptableCAs, sc.acceptableCAs) || !slices.Equal(cr.CertificateTypes, sc.certTypes) || !slices.Equal(cr.SignatureAlgorithms, sc.sigAlgs) {
		t.Errorf("certificate request: probe %+v; s_client CAs %q types %q algs %q", cr, sc.acceptableCAs, sc.certTypes, sc.sigAlgs)
	}
	// Without a certificate nginx completes the handshake and answers
	// HTTP 400 instead of an alert: the doctor must not invent a problem
	// from the handshake, but it does see the request.
	r = probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool})
	if r.CertificateRequest == nil || len(r.CertificateRequest.AcceptableCAs) != 2 {
		t.Errorf("without --cert: certificate request %+v", r.CertificateRequest)
	}
}
