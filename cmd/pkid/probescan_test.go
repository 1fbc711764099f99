package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pkid/pkid/doctor"
	"github.com/pkid/pkid/internal/tlsregistry"
)

// TestProbeScanJSON runs `pkid probe --scan --json` against a crypto/tls
// server and reads the report back.
func TestProbeScanJSON(t *testing.T) {
	addr, _ := tlsServer(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"probe", addr, "--scan", "--json"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	var rep doctor.ScanReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out.String())
	}
	supported := map[tlsregistry.Version]bool{}
	for _, p := range rep.Protocols {
		supported[p.Version] = p.Supported
	}
	if !supported[tlsregistry.TLS13] || !supported[tlsregistry.TLS12] || supported[tlsregistry.SSL30] {
		t.Errorf("protocols %+v, want TLS 1.2 and 1.3 only", rep.Protocols)
	}
	if len(rep.CipherSuites) == 0 || rep.CipherSuites[0].Name != "TLS 1.3" || len(rep.CipherSuites[0].Suites) != 3 {
		t.Errorf("cipher suites %+v, want the three TLS 1.3 suites first", rep.CipherSuites)
	}
	if rep.Connections == 0 || len(rep.Groups) == 0 {
		t.Errorf("connections %d, groups %+v", rep.Connections, rep.Groups)
	}
}
