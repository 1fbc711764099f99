package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/store"
)

func randomSerial() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[0] &= 0x7f
	return strings.ToUpper(hex.EncodeToString(b))
}

// TestTwoNodes: two Store handles on one database ("nodes") with 8
// goroutines issuing at once get unique serials and revisions; CRL numbers
// drawn from both nodes interleaved are strictly increasing for each
// caller and never repeat; a revocation on node A reaches a watcher on
// node B within a second.
func TestTwoNodes(t *testing.T) {
	url := pgtest.Start(t)
	a, b := mustOpen(t, url), mustOpen(t, url)
	nodes := []*Store{a, b}
	ctx := t.Context()
	if err := a.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}

	const workers, batches, per = 8, 20, 10
	var mu sync.Mutex
	serials := map[string]bool{}
	revs := map[int64]bool{}
	var crlNumbers []int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := nodes[w%2]
			var last int64
			for i := 0; i < batches; i++ {
				var certs []*store.Certificate
				for j := 0; j < per; j++ {
					certs = append(certs, &store.Certificate{Serial: randomSerial(), CAID: "ca", DER: make([]byte, 700)})
				}
				for errors.Is(st.AddCertificates(ctx, certs), store.ErrExists) {
					for _, c := range certs { // a random collision: new serials, as issuers do
						c.Serial = randomSerial()
					}
				}
				n, err := st.NextCRLNumber(ctx, "ca")
				if err != nil {
					t.Error(err)
					return
				}
				if n <= last {
					t.Errorf("worker %d: CRL number %d after %d", w, n, last)
				}
				last = n
				mu.Lock()
				for _, c := range certs {
					if serials[c.Serial] || revs[c.Revision] {
						t.Errorf("serial %s or revision %d handed out twice", c.Serial, c.Revision)
					}
					serials[c.Serial], revs[c.Revision] = true, true
				}
				crlNumbers = append(crlNumbers, n)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got, _ := b.Certificates(ctx, store.Query{}); len(got) != workers*batches*per || len(serials) != len(got) {
		t.Errorf("%d certificates stored, %d unique serials acknowledged; want %d", len(got), len(serials), workers*batches*per)
	}
	sort.Slice(crlNumbers, func(i, j int) bool { return crlNumbers[i] < crlNumbers[j] })
	for i, n := range crlNumbers {
		if n != int64(i+1) {
			t.Fatalf("CRL numbers from both nodes: %v; want 1..%d, each once", crlNumbers, len(crlNumbers))
		}
	}

	// Propagation: node B watches, node A revokes.
	start, _ := b.Revision(ctx)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := store.Watch(wctx, b, start, 0)
	all := slices.Sorted(func(yield func(string) bool) {
		for s := range serials {
			if !yield(s) {
				return
			}
		}
	})
	var delays []time.Duration
	for _, serial := range all[:100] {
		begin := time.Now()
		r, err := a.Revoke(ctx, serial, store.Revocation{Reason: 1})
		if err != nil {
			t.Fatal(err)
		}
	wait:
		for {
			select {
			case batch := <-watched:
				if batch[len(batch)-1].Revision >= r.Revision {
					break wait
				}
			case <-time.After(time.Second):
				t.Fatalf("node B did not see node A's revocation of %s within 1s", serial)
			}
		}
		delays = append(delays, time.Since(begin))
	}
	slices.Sort(delays)
	t.Logf("revocation on node A seen by node B over %d revocations: p50 %v, p99 %v, max %v",
		len(delays), delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1])
}

// TestNotificationLost: when node B's LISTEN connection is killed and not
// re-established, its Watch still delivers node A's revocation through the
// fallback poll, within store.NotifyFallbackInterval.
func TestNotificationLost(t *testing.T) {
	url := pgtest.Start(t)
	a, b := mustOpen(t, url), mustOpen(t, url)
	ctx := t.Context()
	b.listenRetry = time.Hour // no reconnect: only the poll can deliver
	pids := make(chan uint32, 1)
	b.listenPID = func(pid uint32) { pids <- pid }
	if err := a.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddCertificates(ctx, []*store.Certificate{{Serial: "01", CAID: "ca"}}); err != nil {
		t.Fatal(err)
	}
	start, _ := b.Revision(ctx)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := store.Watch(wctx, b, start, 0)
	pid := <-pids
	if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the listener notices and gives up
	begin := time.Now()
	r, err := a.Revoke(ctx, "01", store.Revocation{Reason: 1})
	if err != nil {
		t.Fatal(err)
	}
	limit := store.NotifyFallbackInterval + 500*time.Millisecond
	select {
	case batch := <-watched:
		if batch[len(batch)-1].Revision != r.Revision {
			t.Errorf("delivered %+v, want revision %d", batch, r.Revision)
		}
		t.Logf("lost notification recovered by the poll after %v", time.Since(begin))
	case <-time.After(limit):
		t.Fatalf("the revocation was not delivered within %v without notifications", limit)
	}
}

// TestRestartUnderLoad: the database restarts while writers issue;
// operations fail with errors that say what happened, then succeed again
// without reopening the store, and every acknowledged certificate is kept.
func TestRestartUnderLoad(t *testing.T) {
	cluster := pgtest.New(t)
	url := cluster.Database(t)
	st := mustOpen(t, url)
	ctx := t.Context()
	if err := st.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// A watcher on another handle, whose LISTEN connection the restart
	// kills: it must reconnect by itself.
	watcher := mustOpen(t, url)
	listens := make(chan uint32, 10)
	watcher.listenPID = func(pid uint32) { listens <- pid }
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	watched := store.Watch(wctx, watcher, 0, time.Hour) // notifications only
	go func() {
		for range watched {
		}
	}()
	<-listens
	var stop atomic.Bool
	var mu sync.Mutex
	var acked []string
	var errs []error
	var okAfter atomic.Int64 // successes after the restart
	var restarted atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c := &store.Certificate{Serial: randomSerial(), CAID: "ca"}
				octx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := st.AddCertificates(octx, []*store.Certificate{c})
				cancel()
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					acked = append(acked, c.Serial)
					if restarted.Load() {
						okAfter.Add(1)
					}
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	cluster.Stop(t)
	time.Sleep(500 * time.Millisecond)
	cluster.Restart(t)
	restarted.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for okAfter.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if okAfter.Load() < 50 {
		t.Fatalf("only %d writes succeeded within 10s of the restart; errors: %v", okAfter.Load(), errs[len(errs)-1])
	}
	if len(errs) == 0 {
		t.Fatal("no write failed while the database was down")
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "unreachable or restarting") {
			t.Errorf("error while the database was down does not say so: %v", err)
			break
		}
	}
	t.Logf("%d writes acknowledged, %d failed while down (e.g. %v)", len(acked), len(errs), errs[0])
	for _, serial := range acked {
		if _, err := st.Certificate(ctx, serial); err != nil {
			t.Errorf("acknowledged certificate %s lost: %v", serial, err)
		}
	}
	if got, _ := st.Certificates(ctx, store.Query{}); len(got) != len(acked) {
		t.Errorf("%d certificates stored, %d acknowledged", len(got), len(acked))
	}

	// The watcher's listener is back: a change reaches it by notification
	// (its poll interval is an hour).
	select {
	case <-listens:
	case <-time.After(10 * time.Second):
		t.Fatal("the change listener did not reconnect within 10s of the restart")
	}
	cancelWatch()
	now, err := watcher.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	watched = store.Watch(ctx, watcher, now, time.Hour)
	r, err := st.Revoke(ctx, acked[0], store.Revocation{Reason: 1})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case batch := <-watched:
		if batch[len(batch)-1].Revision != r.Revision {
			t.Errorf("after the restart the watcher got %+v, want revision %d", batch, r.Revision)
		}
	case <-time.After(time.Second):
		t.Error("after the restart a revocation did not reach the watcher by notification within 1s")
	}

}
