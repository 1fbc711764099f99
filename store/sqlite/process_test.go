package sqlite

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
)

// The tests in this file run copies of the test binary as separate
// processes (TestHelperProcess, selected by helperEnv) that use the same
// database file, the way `pkid revoke` runs beside `pkid serve`.
const (
	helperEnv   = "PKID_STORE_HELPER" // mode: multi, crash-issue, crash-revoke, crash-bulk, dir-put, bulk-put
	helperDBEnv = "PKID_STORE_HELPER_DB"
)

// helper starts the test binary as a helper process in mode on db.
func helper(t *testing.T, mode, db string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "-test.count=1", "--"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDBEnv+"="+db)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestHelperProcess is not a test: it is the body of the helper processes.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process body; runs only when started by another test")
	}
	var args []string
	for i, a := range os.Args {
		if a == "--" {
			args = os.Args[i+1:]
			break
		}
	}
	err := runHelper(mode, os.Getenv(helperDBEnv), args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func randomSerial() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[0] &= 0x7f // positive, as RFC 5280 §4.1.2.2 requires
	return strings.ToUpper(hex.EncodeToString(b))
}

func runHelper(mode, db string, args []string) error {
	ctx := context.Background()
	st, err := Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	switch mode {
	case "multi":
		// Several of these race to create the database, its CA, and then
		// issue and revoke, each with Revision's fast path pinned (it
		// must not disturb SQLite's locks in its process).
		if _, err := st.Revision(ctx); err != nil {
			return err
		}
		err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, Subject: "CN=ca", CertDER: []byte("x")})
		if err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		batches, _ := strconv.Atoi(args[0])
		for b := 0; b < batches; b++ {
			var certs []*store.Certificate
			for i := 0; i < 10; i++ {
				certs = append(certs, &store.Certificate{Serial: randomSerial(), CAID: "ca", NotAfter: time.Now().Add(time.Hour)})
			}
			if err := st.AddCertificates(ctx, certs); err != nil {
				return err
			}
			for _, c := range certs {
				fmt.Fprintf(out, "issued %s %d\n", c.Serial, c.Revision)
			}
			for _, c := range certs[:3] {
				r, err := st.Revoke(ctx, c.Serial, store.Revocation{Reason: 1})
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "revoked %s %d\n", r.Serial, r.Revision)
			}
		}
	case "crash-issue":
		// Issue small batches forever; report each serial only once
		// AddCertificates has returned, unbuffered, until killed.
		for {
			var certs []*store.Certificate
			for i := 0; i < 5; i++ {
				certs = append(certs, &store.Certificate{Serial: randomSerial(), CAID: "ca", DER: make([]byte, 800)})
			}
			if err := st.AddCertificates(ctx, certs); err != nil {
				return err
			}
			for _, c := range certs {
				fmt.Fprintln(os.Stdout, c.Serial)
			}
		}
	case "crash-revoke":
		certs, err := st.Certificates(ctx, store.Query{Status: store.StatusValid})
		if err != nil {
			return err
		}
		for _, c := range certs {
			if _, err := st.Revoke(ctx, c.Serial, store.Revocation{Reason: 4}); err != nil {
				return err
			}
			fmt.Fprintln(os.Stdout, c.Serial)
		}
		time.Sleep(time.Minute) // ran out of work before the kill; wait for it
	case "dir-put":
		// One directory entry per argument, each in its own transaction;
		// prints each commit's revision.
		for _, dn := range args {
			rev, err := st.DirUpdate(ctx, func(tx store.DirTx) error {
				return tx.Put(&store.DirEntry{DN: dn, NormDN: dn, Data: []byte{1}})
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(out, rev)
		}
	case "bulk-put":
		// One bulk update putting args[0]; prints the journal mode it ran
		// in and its revision.
		var mode string
		rev, err := st.DirBulkUpdate(ctx, func(tx store.DirTx) error {
			if err := tx.(*dirTx).tx.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				return err
			}
			return tx.Put(&store.DirEntry{DN: args[0], NormDN: args[0], Data: []byte{1}})
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(out, mode, rev)
	case "crash-bulk":
		// One bulk update that never ends: large entries (so pages spill
		// to the database file mid-transaction), reporting each 500th.
		_, err := st.DirBulkUpdate(ctx, func(tx store.DirTx) error {
			for i := 0; ; i++ {
				dn := fmt.Sprintf("o=bulk%d", i)
				if err := tx.Put(&store.DirEntry{DN: dn, NormDN: dn, Data: make([]byte, 2000)}); err != nil {
					return err
				}
				if i%500 == 0 {
					fmt.Fprintln(os.Stdout, dn)
				}
			}
		})
		return err
	default:
		return fmt.Errorf("unknown helper mode %q", mode)
	}
	return nil
}

// TestMultiProcess: 8 processes create the same new database and then
// issue and revoke on it at once; every operation succeeds, serials and
// revisions are unique, and the store agrees with what each reported.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 processes")
	}
	db := filepath.Join(t.TempDir(), "pkid.db")
	const procs, batches = 8, 10
	outs := make([]strings.Builder, procs)
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := 0; i < procs; i++ {
		cmd := helper(t, "multi", db, strconv.Itoa(batches))
		cmd.Stdout = &outs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = cmd.Run()
		}()
	}
	// This process watches the feed while the others write, as a server
	// beside CLI commands would; it races them to create the database.
	st, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWatch := context.WithCancel(t.Context())
	watched := store.Watch(wctx, st, 0, 10*time.Millisecond)
	defer func() {
		// Close the store only after Watch stopped reading it: a read in
		// flight during Close left a file behind in the test's directory
		// (seen in CI as "TempDir RemoveAll cleanup: directory not empty").
		stopWatch()
		for range watched {
		}
		st.Close()
	}()
	var seen []int64
	watchDone := make(chan struct{})
	wantChanges := 1 + procs*batches*13
	go func() {
		defer close(watchDone)
		for batch := range watched {
			for _, c := range batch {
				seen = append(seen, c.Revision)
			}
			if len(seen) >= wantChanges {
				return
			}
		}
	}()

	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	select {
	case <-watchDone:
	case <-time.After(10 * time.Second):
		stopWatch()
		<-watchDone
		t.Errorf("watcher saw %d changes 10s after the writers ended, want %d", len(seen), wantChanges)
	}
	issued := map[string]bool{}
	revs := map[int64]string{}
	revoked := 0
	for i := range outs {
		for _, line := range strings.Split(strings.TrimSpace(outs[i].String()), "\n") {
			var kind, serial string
			var rev int64
			if _, err := fmt.Sscan(line, &kind, &serial, &rev); err != nil {
				t.Fatalf("process %d printed %q: %v", i, line, err)
			}
			if prev, dup := revs[rev]; dup {
				t.Errorf("revision %d reported twice: %s and %s", rev, prev, line)
			}
			revs[rev] = line
			switch kind {
			case "issued":
				if issued[serial] {
					t.Errorf("serial %s issued twice", serial)
				}
				issued[serial] = true
			case "revoked":
				revoked++
				c, err := st.Certificate(t.Context(), serial)
				if err != nil || c.Status != store.StatusRevoked || c.Revision != rev {
					t.Errorf("revoked %s at %d, store has %+v, %v", serial, rev, c, err)
				}
			}
		}
	}
	if want := procs * batches * 10; len(issued) != want || revoked != procs*batches*3 {
		t.Errorf("%d issued, %d revoked; want %d, %d", len(issued), revoked, want, procs*batches*3)
	}
	all, err := st.Certificates(t.Context(), store.Query{})
	if err != nil || len(all) != len(issued) {
		t.Fatalf("store holds %d certificates (%v), processes issued %d", len(all), err, len(issued))
	}
	changes, err := st.Changes(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// One CA change (the other processes got ErrExists), one per issue and
	// one per revocation, each revision once.
	if want := 1 + len(issued) + revoked; len(changes) != want {
		t.Errorf("%d changes, want %d", len(changes), want)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i].Revision <= changes[i-1].Revision {
			t.Errorf("feed not strictly increasing at %d: %d after %d", i, changes[i].Revision, changes[i-1].Revision)
		}
	}
	for i, c := range changes {
		if i >= len(seen) || seen[i] != c.Revision {
			t.Errorf("the watcher in another process missed or reordered revisions: change %d is %d", i, c.Revision)
			break
		}
	}
	checkIntegrity(t, st)
}

func checkIntegrity(t *testing.T, st *Store) {
	t.Helper()
	var res string
	if err := st.db.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check = %q, %v", res, err)
	}
}

// killAfter starts cmd, reads the serials it reports, SIGKILLs it after n
// of them (in the middle of its next write), and returns every serial it
// reported before dying.
func killAfter(t *testing.T, cmd *exec.Cmd, n int) []string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var serials []string
	for sc.Scan() {
		serials = append(serials, sc.Text())
		if len(serials) == n {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	err = cmd.Wait()
	if len(serials) < n {
		t.Fatalf("helper reported only %d serials before exiting: %v", len(serials), err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, want killed", err)
	}
	return serials
}

// TestCrashSafety: a process killed with SIGKILL in the middle of writing
// loses nothing it had been told was committed, and the database reopens
// intact.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	db := filepath.Join(t.TempDir(), "pkid.db")
	st, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCA(t.Context(), &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for round, n := range []int{150, 400} {
		t.Run(fmt.Sprintf("issue/%d", round), func(t *testing.T) {
			serials := killAfter(t, helper(t, "crash-issue", db), n)
			st, err := Open(t.Context(), db)
			if err != nil {
				t.Fatalf("reopen after crash: %v", err)
			}
			defer st.Close()
			for _, s := range serials {
				if _, err := st.Certificate(t.Context(), s); err != nil {
					t.Errorf("serial %s was reported committed but is lost: %v", s, err)
				}
			}
			checkIntegrity(t, st)
		})
	}
	t.Run("revoke", func(t *testing.T) {
		serials := killAfter(t, helper(t, "crash-revoke", db), 100)
		st, err := Open(t.Context(), db)
		if err != nil {
			t.Fatalf("reopen after crash: %v", err)
		}
		defer st.Close()
		for _, s := range serials {
			c, err := st.Certificate(t.Context(), s)
			if err != nil || c.Status != store.StatusRevoked {
				t.Errorf("revocation of %s was reported committed but is lost: %+v, %v", s, c, err)
			}
		}
		var listed int
		st.RevokedSince(t.Context(), "ca", 0, func(*store.RevokedEntry) error { listed++; return nil })
		if listed < len(serials) {
			t.Errorf("RevokedSince lists %d, want at least %d", listed, len(serials))
		}
		checkIntegrity(t, st)
	})
}
