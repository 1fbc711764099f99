package doctor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// startPeer starts a server program on a free port and waits until it prints
// ready (a substring of its output) or accepts connections (ready == "");
// it retries on a port conflict. args may contain "{port}".
func startPeer(t testing.TB, prog string, ready string, args ...string) string {
	t.Helper()
	var lastOut string
	for attempt := 0; attempt < 4; attempt++ {
		port := freePort(t)
		var a []string
		for _, s := range args {
			a = append(a, strings.ReplaceAll(s, "{port}", strconv.Itoa(port)))
		}
		cmd := exec.Command(prog, a...)
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		stdin, _ := cmd.StdinPipe() // keep stdin open: s_server exits at EOF
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", prog, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); pw.Close(); close(exited) }()
		readyCh := make(chan struct{})
		var mu sync.Mutex
		var out strings.Builder
		go func() {
			sc := bufio.NewScanner(pr)
			sent := false
			for sc.Scan() {
				mu.Lock()
				if out.Len() < 1<<16 {
					out.WriteString(sc.Text() + "\n")
				}
				mu.Unlock()
				if !sent && ready != "" && strings.Contains(sc.Text(), ready) {
					sent = true
					close(readyCh)
				}
			}
		}()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if ready == "" {
			go func() {
				for i := 0; i < 200; i++ {
					c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
					if err == nil {
						c.Close()
						close(readyCh)
						return
					}
					select {
					case <-exited:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
		}
		select {
		case <-readyCh:
			t.Cleanup(func() {
				stdin.Close()
				cmd.Process.Kill()
				<-exited
			})
			return addr
		case <-exited:
			mu.Lock()
			lastOut = out.String()
			mu.Unlock()
			if strings.Contains(lastOut, "in use") {
				continue
			}
			t.Fatalf("%s %v exited:\n%s", prog, a, lastOut)
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
			mu.Lock()
			lastOut = out.String()
			mu.Unlock()
			t.Fatalf("%s did not become ready:\n%s", prog, lastOut)
		}
	}
	t.Fatalf("%s: no free port after retries:\n%s", prog, lastOut)
	return ""
}

func sServer(t testing.TB, args ...string) string {
	t.Helper()
	openssl := peer.Need(t, "openssl", "openssl")
	return startPeer(t, openssl, "ACCEPT", append([]string{"s_server", "-accept", "127.0.0.1:{port}", "-www"}, args...)...)
}

// sClientFacts is what openssl s_client reported.
type sClientFacts struct {
	out           string
	protocol      string // TLSv1.2
	cipher        string // OpenSSL name
	tempKey       string // X25519, ECDH prime256v1, ...
	acceptableCAs []string
	certTypes     []string
	sigAlgs       []string
	alert         string   // last fatal alert received, e.g. handshake_failure
	chain         []string // subjects of the certificate chain, Go's notation
}

var (
	reNew     = regexp.MustCompile(`(?m)^New, (\S+), Cipher is (\S+)`)
	reTempKey = regexp.MustCompile(`(?m)^Server Temp Key: ([^,]+(?:, [^,]+)?), \d+ bits`)
	reTypes   = regexp.MustCompile(`(?m)^Client Certificate Types: (.*)$`)
	reSigAlgs = regexp.MustCompile(`(?m)^Requested Signature Algorithms: (.*)$`)
	reChain   = regexp.MustCompile(`(?m)^ *\d+ s:(.*)$`)
	reAlert   = regexp.MustCompile(`<<< [^\n]*Alert \[length 0002\], fatal (\S+)`)
)

// sClient runs openssl s_client -msg against addr and parses its report.
func sClient(t testing.TB, addr string, args ...string) sClientFacts {
	t.Helper()
	openssl := peer.Need(t, "openssl", "openssl")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, append([]string{"s_client", "-connect", addr, "-msg", "-servername", "localhost"}, args...)...)
	cmd.Stdin = strings.NewReader("")
	b, _ := cmd.CombinedOutput()
	out := string(b)
	f := sClientFacts{out: out}
	if m := reNew.FindStringSubmatch(out); m != nil {
		f.protocol, f.cipher = m[1], m[2]
	}
	if m := reTempKey.FindStringSubmatch(out); m != nil {
		f.tempKey = m[1]
	}
	if m := reTypes.FindStringSubmatch(out); m != nil {
		f.certTypes = strings.Split(m[1], ", ")
	}
	if m := reSigAlgs.FindStringSubmatch(out); m != nil {
		f.sigAlgs = strings.Split(m[1], ":")
	}
	for _, m := range reChain.FindAllStringSubmatch(out, -1) {
		f.chain = append(f.chain, opensslDN(m[1]))
	}
	if ms := reAlert.FindAllStringSubmatch(out, -1); ms != nil {
		f.alert = ms[len(ms)-1][1]
	}
	if i := strings.Index(out, "Acceptable client certificate CA names\n"); i >= 0 {
		for _, line := range strings.Split(out[i+len("Acceptable client certificate CA names\n"):], "\n") {
			if line == "" || strings.HasPrefix(line, "Client Certificate Types") || strings.HasPrefix(line, "Requested Signature") || strings.HasPrefix(line, "---") {
				break
			}
			f.acceptableCAs = append(f.acceptableCAs, opensslDN(line))
		}
	}
	return f
}

// opensslDN turns s_client's "O = pkid test, CN = Test Root" into Go's
// "CN=Test Root,O=pkid test" (RFC 4514 order is reversed).
func opensslDN(s string) string {
	parts := strings.Split(s, ", ")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	for i, p := range parts {
		parts[i] = strings.Replace(p, " = ", "=", 1)
	}
	return strings.Join(parts, ",")
}
