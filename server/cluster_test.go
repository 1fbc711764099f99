package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/server"
	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/postgres"
)

// recorder is a slog handler that keeps the records the cluster test
// checks (CRLs signed, store state changes) and passes every record on.
type recorder struct {
	next slog.Handler
	node string
	mu   *sync.Mutex
	recs *[]rec
}

type rec struct {
	node, msg string
	attrs     map[string]string
}

func (r *recorder) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (r *recorder) WithAttrs(a []slog.Attr) slog.Handler {
	return &recorder{next: r.next.WithAttrs(a), node: r.node, mu: r.mu, recs: r.recs}
}
func (r *recorder) WithGroup(g string) slog.Handler {
	return &recorder{next: r.next.WithGroup(g), node: r.node, mu: r.mu, recs: r.recs}
}
func (r *recorder) Handle(ctx context.Context, sr slog.Record) error {
	m := map[string]string{}
	sr.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	r.mu.Lock()
	*r.recs = append(*r.recs, rec{node: r.node, msg: sr.Message, attrs: m})
	r.mu.Unlock()
	if r.next.Enabled(ctx, sr.Level) {
		return r.next.Handle(ctx, sr)
	}
	return nil
}

type clusterLog struct {
	mu   sync.Mutex
	recs []rec
}

func (l *clusterLog) logger(t testing.TB, node string) *slog.Logger {
	lw := &logWriter{t: t}
	t.Cleanup(func() { lw.mu.Lock(); lw.done = true; lw.mu.Unlock() })
	return slog.New(&recorder{next: slog.NewTextHandler(lw, nil).WithAttrs([]slog.Attr{slog.String("node", node)}), node: node, mu: &l.mu, recs: &l.recs})
}

func (l *clusterLog) find(msg string) []rec {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []rec
	for _, r := range l.recs {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// startNode runs a Server on a PostgreSQL store of its own handle, over
// dir; mod adjusts its configuration. It must be called from the test's
// goroutine (it fails the test with t.Fatal); launchNode is the version for
// other goroutines.
func startNode(t testing.TB, url, dir string, log *slog.Logger, mod ...func(*server.Config)) *fixture {
	t.Helper()
	f, err := launchNode(t, url, dir, log, mod...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// launchNode is startNode returning its error instead of failing the test,
// so it may run on any goroutine. The node stops when the test ends.
func launchNode(t testing.TB, url, dir string, log *slog.Logger, mod ...func(*server.Config)) (*fixture, error) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	cfg := server.Config{Dir: dir, Store: st, HTTPAddr: "127.0.0.1:0", Logger: log, ReadHeaderTimeout: time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(sctx) }()
	f := &fixture{t: t, dir: dir, st: st, srv: srv, url: srv.URL(), boot: srv.Bootstrap()}
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-errc:
			case <-time.After(15 * time.Second):
				t.Errorf("node %s: Serve did not return within 15 s", dir)
			}
			st.Close()
		})
	}
	t.Cleanup(f.stop)
	for _, c := range f.boot.CAs {
		cert, err := ca.ParseCertificate(ca.CertPEM(c.CertDER))
		if err != nil {
			return nil, fmt.Errorf("CA %s: %w", c.ID, err)
		}
		switch c.ID {
		case "root":
			f.root = cert
		case "issuing":
			f.issuer = cert
		}
	}
	return f, nil
}

// clientCRL reads the certificateRevocationList;binary of the CA entry
// at caDN over cl, anonymously, and parses it.
func clientCRL(ctx context.Context, cl *ldap.Client, caDN string) (*x509.RevocationList, error) {
	all, err := ldap.ParseFilter("(objectClass=*)")
	if err != nil {
		return nil, err
	}
	es, err := cl.Search(ctx, &ldap.SearchRequest{BaseObject: caDN, Scope: ldap.ScopeBaseObject, Filter: all, Attributes: []string{"certificateRevocationList;binary"}})
	if err != nil {
		return nil, err
	}
	if len(es) != 1 || len(es[0].Attributes) != 1 || len(es[0].Attributes[0].Values) != 1 {
		return nil, fmt.Errorf("search %s: no single certificateRevocationList;binary value", caDN)
	}
	return x509.ParseRevocationList(es[0].Attributes[0].Values[0])
}

// ldapCRL reads the certificateRevocationList;binary of the CA entry at
// caDN from the directory at addr with `ldapsearch` (anonymous, as GSKit
// and other TLS stacks fetch it) and parses it.
func ldapCRL(t *testing.T, ldapsearch, addr, caDN string) (*x509.RevocationList, error) {
	t.Helper()
	cmd := exec.Command(ldapsearch, "-x", "-LLL", "-o", "ldif-wrap=no", "-H", "ldap://"+addr,
		"-b", caDN, "-s", "base", "(objectClass=*)", "certificateRevocationList;binary")
	cmd.Env = append(os.Environ(), "LDAPCONF=/dev/null", "LDAPRC=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ldapsearch: %w\n%s", err, out)
	}
	const attr = "certificateRevocationList;binary:: "
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), attr); ok {
			der, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, fmt.Errorf("ldapsearch value: %w", err)
			}
			return x509.ParseRevocationList(der)
		}
	}
	return nil, fmt.Errorf("ldapsearch found no %s at %s:\n%s", strings.TrimSuffix(attr, ":: "), caDN, out)
}

// opensslOCSP asks url about cert with `openssl ocsp` and returns its
// output.
func opensslOCSP(t *testing.T, dir, cert, url string) string {
	t.Helper()
	out, _ := run(t, "openssl", "ocsp", "-issuer", filepath.Join(dir, "chain.pem"), "-cert", cert,
		"-url", url+"/ocsp", "-CAfile", filepath.Join(dir, "ca.pem"), "-no_nonce")
	return out
}

func health(t *testing.T, f *fixture) (int, server.Health) {
	t.Helper()
	resp, err := http.Get(f.url + server.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h server.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, h
}

// TestTwoNodesOneDatabase runs two servers on one PostgreSQL database with
// separate data directories. The second node takes over the CA (same
// ca.pem and chain.pem, no administrator of its own, its own responder
// key); 8 issuers across both nodes get unique serials; revocations made
// on node A are answered "revoked" by `openssl ocsp` against node B and
// listed in node B's CRL, over HTTP and at the CA's DN in node B's LDAP
// directory (read by `ldapsearch`), within a second; each CRL number is signed once,
// by one node, and covers more than the one before; with the database
// stopped node B answers OCSP from its pre-signed cache and /healthz says
// 503 with the reason (logged once), and it recovers when the database
// returns.
func TestTwoNodesOneDatabase(t *testing.T) {
	peer.Need(t, "openssl", "openssl")
	ldapsearch := peer.Need(t, "ldapsearch", "ldap-utils")
	cluster := pgtest.New(t)
	url := cluster.Database(t)
	var logs clusterLog
	dirA, dirB := t.TempDir(), t.TempDir()
	a := startNode(t, url, dirA, logs.logger(t, "A"))
	b := startNode(t, url, dirB, logs.logger(t, "B"), func(c *server.Config) { c.LDAPAddr = "127.0.0.1:0" })
	caDN := b.boot.DefaultCA.Subject
	bLDAP, err := ldap.Dial(t.Context(), "ldap://"+b.srv.LDAPAddr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bLDAP.Close()

	// Node B uses node A's CA.
	if !a.boot.CreatedCA || !a.boot.CreatedAdmin || b.boot.CreatedCA || b.boot.CreatedAdmin {
		t.Errorf("created CA/admin: A %v/%v, B %v/%v; want only A", a.boot.CreatedCA, a.boot.CreatedAdmin, b.boot.CreatedCA, b.boot.CreatedAdmin)
	}
	for _, name := range []string{server.CAFileName, server.ChainFileName} {
		da, errA := os.ReadFile(filepath.Join(dirA, name))
		db, errB := os.ReadFile(filepath.Join(dirB, name))
		if errA != nil || errB != nil || !bytes.Equal(da, db) {
			t.Errorf("%s differs between the nodes (%v, %v)", name, errA, errB)
		}
	}
	if _, err := os.Stat(filepath.Join(dirB, server.AdminKeyFileName)); !os.IsNotExist(err) {
		t.Errorf("node B has an administrator key: %v", err)
	}
	ra, _ := os.ReadFile(filepath.Join(dirA, server.ResponderDirName, "issuing.pem"))
	rb, _ := os.ReadFile(filepath.Join(dirB, server.ResponderDirName, "issuing.pem"))
	if len(ra) == 0 || len(rb) == 0 || bytes.Equal(ra, rb) {
		t.Errorf("responder certificates: A %d bytes, B %d bytes; want one of its own on each node", len(ra), len(rb))
	}

	// 8 concurrent issuers, 4 on each node.
	ctx := t.Context()
	const issuers, each = 8, 25
	var mu sync.Mutex
	var issued []*ca.Issued
	var wg sync.WaitGroup
	for w := range issuers {
		node := []*fixture{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				iss, err := node.srv.Service().Issue(ctx, ca.Request{Profile: "server", Subject: fmt.Sprintf("CN=w%d-%d", w, i), SANs: fmt.Sprintf("DNS:w%d-%d.test", w, i)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				issued = append(issued, iss)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	serials := map[string]bool{}
	for _, iss := range issued {
		serials[iss.Serial] = true
	}
	stored, err := b.st.Certificates(ctx, store.Query{CAID: "issuing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != issuers*each || len(serials) != len(issued) || len(stored) < len(issued) {
		t.Fatalf("%d issued, %d unique serials, %d stored; want %d of each", len(issued), len(serials), len(stored), issuers*each)
	}

	// B's feed watcher has applied every issuance: applying one later drops
	// any OCSP response cached for that serial (ocsp.Responder.Invalidate),
	// which the outage below needs.
	rev, err := b.st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, h := health(t, b)
		if h.Revision >= rev {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node B's feed is at revision %d 10 s after the store reached %d", h.Revision, rev)
		}
	}

	// A good certificate asked about on B before the outage (so cached).
	good := issued[len(issued)-1]
	goodFiles := pkitest.Write(t, t.TempDir(), "good", good)
	if out := opensslOCSP(t, dirB, goodFiles.Cert, b.url); !strings.Contains(out, ": good") {
		t.Fatalf("openssl ocsp on B for a new certificate:\n%s", out)
	}

	// Revocations on node A, seen on node B.
	var crlNumbersB []int64
	var revoked []*ca.Issued
	for i, iss := range issued[:5] {
		files := pkitest.Write(t, t.TempDir(), fmt.Sprintf("r%d", i), iss)
		// Node B's LDAP directory is polled from the moment of the
		// revocation, beside the openssl ocsp runs rather than after
		// them (a process start on a loaded machine takes a good part of
		// the second), with a long-lived client connection: the time is
		// the server's; ldapsearch confirms it below.
		type ldapSeen struct {
			took time.Duration // 0: not within 3 s
			err  error         // the last failed read, if any
		}
		ldapDone := make(chan ldapSeen, 1)
		begin := time.Now()
		if _, err := a.srv.Service().Revoke(ctx, iss.Serial, ca.ReasonKeyCompromise, time.Time{}); err != nil {
			t.Fatal(err)
		}
		go func() {
			var r ldapSeen
			for time.Since(begin) < 3*time.Second {
				var crl *x509.RevocationList
				if crl, r.err = clientCRL(ctx, bLDAP, caDN); r.err == nil && crlLists(crl, iss.Certificate.SerialNumber) {
					r.took = time.Since(begin)
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			ldapDone <- r
		}()
		var seen time.Duration
		for time.Since(begin) < 3*time.Second {
			if out := opensslOCSP(t, dirB, files.Cert, b.url); strings.Contains(out, ": revoked") && strings.Contains(out, "Response verify OK") {
				seen = time.Since(begin)
				break
			}
		}
		if seen == 0 || seen > time.Second {
			t.Errorf("revocation %d on A: openssl ocsp on B says revoked after %v (0 = not within 3 s); want ≤ 1 s", i, seen)
		}
		both := b.waitRevoked(iss.Certificate.SerialNumber, begin, time.Second)
		l := <-ldapDone
		inLDAP := l.took
		if inLDAP == 0 || inLDAP > time.Second {
			t.Errorf("revocation %d on A: node B's LDAP lists it in %s's certificateRevocationList;binary after %v (0 = not within 3 s; last error %v); want ≤ 1 s", i, caDN, inLDAP, l.err)
		}
		peerBegin := time.Now()
		if crl, err := ldapCRL(t, ldapsearch, b.srv.LDAPAddr().String(), caDN); err != nil || !crlLists(crl, iss.Certificate.SerialNumber) {
			t.Errorf("revocation %d on A: ldapsearch on B: the CRL at %s does not list it (%v)", i, caDN, err)
		}
		peerTook := time.Since(peerBegin)
		t.Logf("revocation %d on node A: on node B openssl ocsp says revoked after %v, B's OCSP and HTTP CRL after %v, the CA entry's CRL in B's LDAP after %v (ldapsearch confirms, taking %v)",
			i, seen.Round(time.Millisecond), both.Round(time.Millisecond), inLDAP.Round(time.Millisecond), peerTook.Round(time.Millisecond))
		if crl, err := b.crl(); err == nil {
			crlNumbersB = append(crlNumbersB, crl.Number.Int64())
		}
		revoked = append(revoked, iss)
	}
	// A's CRL agrees within the same second (the CRL may have been signed
	// by B a moment ago; A learns of it through the feed).
	var missing []string
	deadline := time.Now().Add(time.Second)
	for {
		crlA, err := a.crl()
		if err != nil {
			t.Fatal(err)
		}
		missing = missing[:0]
		for _, iss := range revoked {
			if !crlLists(crlA, iss.Certificate.SerialNumber) {
				missing = append(missing, iss.Serial)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("node A's CRL still lacks %v a second after B saw them", missing)
	}
	if !slices.IsSorted(crlNumbersB) {
		t.Errorf("CRL numbers served by B went back: %v", crlNumbersB)
	}

	// Each CRL number signed once, by one node, each covering more than
	// the one before.
	signed := map[int64]string{}
	var numbers []int64
	revOf := map[int64]int64{}
	for _, r := range logs.find("CRL") {
		if r.attrs["ca"] != "issuing" {
			continue
		}
		var n, rev int64
		fmt.Sscan(r.attrs["number"], &n)
		fmt.Sscan(r.attrs["revision"], &rev)
		if prev, dup := signed[n]; dup {
			t.Errorf("CRL %d signed twice (nodes %s and %s)", n, prev, r.node)
		}
		signed[n], revOf[n] = r.node, rev
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for i := 1; i < len(numbers); i++ {
		if revOf[numbers[i]] <= revOf[numbers[i-1]] {
			t.Errorf("CRL %d (node %s) reflects revision %d, no newer than CRL %d's %d: re-signed what another node had signed",
				numbers[i], signed[numbers[i]], revOf[numbers[i]], numbers[i-1], revOf[numbers[i-1]])
		}
	}
	t.Logf("CRLs of the issuing CA signed: %v (number→node)", signed)

	// The database goes away: B answers from its cache, says so.
	cluster.Stop(t)
	if out := opensslOCSP(t, dirB, goodFiles.Cert, b.url); !strings.Contains(out, ": good") || !strings.Contains(out, "Response verify OK") {
		t.Errorf("database stopped: openssl ocsp on B for a good certificate:\n%s", out)
	}
	if r, err := b.ocspStatus(revoked[0].Certificate.SerialNumber); err != nil || r.Status != xocsp.Revoked {
		t.Errorf("database stopped: B's OCSP for a revoked certificate: %v %v", r, err)
	}
	code, h := health(t, b)
	if code != http.StatusServiceUnavailable || h.Status != "unavailable" || h.Store == "ok" {
		t.Errorf("database stopped: /healthz %d %+v; want 503 with the store's error", code, h)
	}
	t.Logf("database stopped: /healthz %d store=%q", code, h.Store)
	health(t, b) // a second request: still one log line
	time.Sleep(1500 * time.Millisecond)
	n := 0
	for _, r := range logs.find("store unreachable: answering OCSP from the pre-signed cache until each response's nextUpdate; CRLs, new revocations and issuance wait for the store") {
		if r.node == "B" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("node B logged the unreachable store %d times; want once", n)
	}

	cluster.Restart(t)
	deadline = time.Now().Add(20 * time.Second)
	for {
		if code, _ := health(t, b); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("database back: node B's /healthz not 200 within 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(logs.find("store reachable again")) == 0 {
		t.Error("no log line when the store came back")
	}
	// And revocations flow again.
	last := issued[10]
	begin := time.Now()
	if _, err := a.srv.Service().Revoke(ctx, last.Serial, ca.ReasonSuperseded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("after the outage: revocation on A seen by B's OCSP and CRL after %v", b.waitRevoked(last.Certificate.SerialNumber, begin, 2*time.Second))
}

// TestNodeKilledDuringRevocations runs node A as a `pkid serve` process
// and node B in this test on one PostgreSQL database, revokes 30
// certificates one by one with `pkid revoke --store` and SIGKILLs node A
// after the tenth: every revocation the CLI acknowledged is in the
// database and answered "revoked" by node B's OCSP and listed in node B's
// CRL (whose number went on increasing), so neither the killed node's
// CRL lock nor its connections block the survivor.
func TestNodeKilledDuringRevocations(t *testing.T) {
	bin := pkidBinary(t)
	cluster := pgtest.New(t)
	url := cluster.Database(t)
	var logs clusterLog
	b := startNode(t, url, t.TempDir(), logs.logger(t, "B"))

	port := freePort(t)
	dirA := t.TempDir()
	var outA bytes.Buffer
	cmd := exec.Command(bin, "serve", "--store", url, "--http", fmt.Sprintf("127.0.0.1:%d", port), "--dir", dirA)
	cmd.Stdout, cmd.Stderr = &outA, &outA
	cmd.Env = append(os.Environ(), "PKID_STORE=", "PKID_DIR=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	aURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(aURL + server.HealthPath); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node A did not become healthy within 20 s:\n%s", outA.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx := t.Context()
	var issued []*ca.Issued
	for i := range 30 {
		iss, err := b.srv.Service().Issue(ctx, ca.Request{Profile: "client", Subject: fmt.Sprintf("CN=k%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, iss)
	}
	crl0, err := b.crl()
	if err != nil {
		t.Fatal(err)
	}

	// One CLI revocation first: it reaches node B within a second.
	cliDir := t.TempDir()
	first, err := b.srv.Service().Issue(ctx, ca.Request{Profile: "client", Subject: "CN=cli"})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, bin, "revoke", first.Serial, "--reason", "superseded", "--store", url, "--dir", cliDir); err != nil {
		t.Fatalf("pkid revoke: %v\n%s", err, out)
	}
	t.Logf("pkid revoke (CLI) seen by node B's OCSP and CRL %v after the command returned",
		b.waitRevoked(first.Certificate.SerialNumber, time.Now(), time.Second).Round(time.Millisecond))

	var acked []*ca.Issued
	for i, iss := range issued {
		if i == 10 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			t.Logf("SIGKILL node A after %d revocations", i)
		}
		out, err := run(t, bin, "revoke", iss.Serial, "--reason", "keyCompromise", "--store", url, "--dir", cliDir)
		if err != nil {
			t.Logf("pkid revoke %s not acknowledged: %v\n%s", iss.Serial, err, out)
			continue
		}
		acked = append(acked, iss)
	}
	<-exited
	if len(acked) != len(issued) {
		t.Errorf("%d of %d revocations acknowledged; the database never went away", len(acked), len(issued))
	}
	begin := time.Now()
	for _, iss := range acked {
		c, err := b.st.Certificate(ctx, iss.Serial)
		if err != nil || c.Status != store.StatusRevoked {
			t.Errorf("acknowledged revocation of %s: stored %+v, %v", iss.Serial, c, err)
		}
		b.waitRevoked(iss.Certificate.SerialNumber, begin, 3*time.Second)
	}
	crl1, err := b.crl()
	if err != nil {
		t.Fatal(err)
	}
	if crl1.Number.Cmp(crl0.Number) <= 0 {
		t.Errorf("CRL number %v after the burst, %v before", crl1.Number, crl0.Number)
	}
	t.Logf("node B's CRL went from number %v to %v and lists all %d revocations %v after the last", crl0.Number, crl1.Number, len(acked), time.Since(begin).Round(time.Millisecond))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNodesStartTogether: two nodes started at the same moment on an
// empty database create one CA between them (bootstrap runs under a store
// lock), and both hand out the same ca.pem.
func TestNodesStartTogether(t *testing.T) {
	url := pgtest.New(t).Database(t)
	var logs clusterLog
	dirs := []string{t.TempDir(), t.TempDir()}
	nodes := make([]*fixture, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = launchNode(t, url, dirs[i], logs.logger(t, fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	if created := btoi(nodes[0].boot.CreatedCA) + btoi(nodes[1].boot.CreatedCA); created != 1 {
		t.Errorf("%d nodes created a CA; want 1", created)
	}
	cas, err := nodes[0].st.CAs(t.Context())
	if err != nil || len(cas) != 2 {
		t.Errorf("CAs in the store: %d, %v; want root and issuing", len(cas), err)
	}
	a, _ := os.ReadFile(filepath.Join(dirs[0], server.CAFileName))
	b, _ := os.ReadFile(filepath.Join(dirs[1], server.CAFileName))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("ca.pem differs between the nodes")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
