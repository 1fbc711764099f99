package doctor

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora in testdata/fuzz from live handshakes")

// FuzzParseFlight feeds arbitrary bytes to the record and handshake parser
// that reads what servers send (TLS 1.2 CertificateRequest included).
func FuzzParseFlight(f *testing.F) {
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"), true)
	f.Add([]byte{0x15, 3, 3, 0, 2, 2, 40}, true)
	f.Fuzz(func(t *testing.T, b []byte, fromServer bool) {
		fl := parseFlight(b, fromServer)
		if fl.CertReq != nil {
			for _, ca := range fl.CertReq.CAs {
				dnString(ca)
			}
		}
	})
}

// FuzzLDAPExtendedResponse feeds arbitrary bytes to the StartTLS answer
// parser.
func FuzzLDAPExtendedResponse(f *testing.F) {
	f.Add([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
	f.Add([]byte{0x30, 0x84, 0, 0, 0, 3, 2, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if msg, err := readBER(bytes.NewReader(b), 1<<16); err == nil {
			parseLDAPExtendedResponse(msg)
		}
		parseLDAPExtendedResponse(b)
	})
}

// FuzzSMTPReply feeds arbitrary server chatter to the SMTP reply reader.
func FuzzSMTPReply(f *testing.F) {
	f.Add([]byte("220 ready\r\n"))
	f.Add([]byte("250-a\r\n250-b\r\n250 STARTTLS\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		readSMTPReply(bufio.NewReader(bytes.NewReader(b)))
	})
}

// TestFuzzSeeds records real handshakes as seeds for FuzzParseFlight when
// run with -update.
func TestFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpus")
	}
	p := newTestPKI(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzParseFlight")
	os.MkdirAll(dir, 0o755)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		srv, cli := net.Pipe()
		go func() {
			s := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{*p.server.tlsCert(p.inter)}, MaxVersion: v,
				ClientAuth: tls.RequestClientCert, ClientCAs: p.rootPool})
			s.Handshake()
			s.Close()
		}()
		w := &wireConn{Conn: cli}
		c := tls.Client(w, &tls.Config{InsecureSkipVerify: true, MaxVersion: v})
		c.Handshake()
		c.Close()
		for name, b := range map[string][]byte{"server": w.received(), "client": w.sent()} {
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", b, name == "server")
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%x", name, v)), []byte(seed), 0o644)
		}
	}
}
