package postgres

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pkid/pkid/store"
)

// The crash test runs a copy of the test binary as a separate process
// (selected by helperEnv) that revokes certificates and reports each one
// once Revoke has returned, until it is killed.
const (
	helperEnv    = "PKID_PG_HELPER" // mode: revoke
	helperURLEnv = "PKID_PG_HELPER_URL"
)

// helperMain runs the helper process body when the environment asks for
// it, and reports whether it did (the process then exits).
func helperMain() bool {
	if os.Getenv(helperEnv) == "" {
		return false
	}
	ctx := context.Background()
	st, err := Open(ctx, os.Getenv(helperURLEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	// Revoke 0001, 0002, ... in order; print each acknowledged serial
	// unbuffered, so the parent knows exactly what was acknowledged.
	for i := 1; ; i++ {
		serial := fmt.Sprintf("%04X", i)
		if _, err := st.Revoke(ctx, serial, store.Revocation{Reason: 1}); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stdout, serial)
	}
}

func pgtestFreePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestCrashDuringRevocations: SIGKILL of a process in the middle of a
// revocation burst loses nothing it reported, and the database stays
// consistent (every revocation has its feed record and vice versa).
func TestCrashDuringRevocations(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	const total = 3000
	var certs []*store.Certificate
	for i := 1; i <= total; i++ {
		certs = append(certs, &store.Certificate{Serial: fmt.Sprintf("%04X", i), CAID: "ca", DER: make([]byte, 700)})
	}
	if err := st.AddCertificates(ctx, certs); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=revoke", helperURLEnv+"="+pgURL(t, st))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reported []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		reported = append(reported, sc.Text())
		if len(reported) == 200 {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	if len(reported) < 200 || len(reported) >= total {
		t.Fatalf("helper reported %d revocations; want it killed in the middle of its burst", len(reported))
	}
	for _, serial := range reported {
		c, err := st.Certificate(ctx, serial)
		if err != nil || c.Status != store.StatusRevoked {
			t.Errorf("reported revocation of %s lost: %+v, %v", serial, c, err)
		}
	}
	var revoked, feedRevokes int
	st.pool.QueryRow(ctx, `SELECT count(*) FROM certificates WHERE status = 'revoked'`).Scan(&revoked)
	st.pool.QueryRow(ctx, `SELECT count(*) FROM changes WHERE kind = 'revoke'`).Scan(&feedRevokes)
	if revoked != feedRevokes || revoked < len(reported) || revoked > len(reported)+1 {
		t.Errorf("after the kill: %d revoked, %d revoke records, %d reported (at most one unreported commit allowed)", revoked, feedRevokes, len(reported))
	}
	rev, _ := st.Revision(ctx)
	var maxRev int64
	st.pool.QueryRow(ctx, `SELECT max(revision) FROM changes`).Scan(&maxRev)
	if rev != maxRev {
		t.Errorf("feed counter %d, last change %d", rev, maxRev)
	}
	t.Logf("killed after %d reported revocations; %d stored", len(reported), revoked)
}

// pgURL returns the URL the store was opened with (the test cluster has
// no passwords, so the redacted form is the URL).
func pgURL(t *testing.T, st *Store) string {
	if strings.Contains(st.url, "xxxxx") {
		t.Fatal("test store URL has a password")
	}
	return st.url
}
