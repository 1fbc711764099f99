package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/sqlite"
)

// notifying is a store whose Notify channel is driven by the test: a nil
// wake channel loses every notification.
type notifying struct {
	store.Store
	wake chan struct{}
}

func (n notifying) Notify(ctx context.Context) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-n.wake:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func TestWatchNotifier(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		notify   bool
	}{
		// With a Notifier, a wake-up delivers at once, whatever the
		// poll interval.
		{"notification wakes the watcher", time.Hour, true},
		// Every notification lost: the fallback poll (1 s by default for
		// a Notifier) still delivers.
		{"lost notification recovered by the fallback poll", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sq, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pkid.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer sq.Close()
			st := notifying{sq, make(chan struct{})}
			ctx, cancel := context.WithCancel(t.Context())
			ch := store.Watch(ctx, st, 0, tc.interval)
			defer stopWatch(cancel, ch)
			begin := time.Now()
			if err := sq.CreateCA(ctx, &store.CA{ID: "ca", Role: store.RoleSingle, CertDER: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if tc.notify {
				st.wake <- struct{}{}
			}
			limit := 5 * time.Second
			if !tc.notify {
				limit = store.NotifyFallbackInterval + 2*time.Second
			}
			select {
			case got := <-ch:
				if len(got) != 1 || got[0].Kind != store.ChangeCA {
					t.Errorf("Watch delivered %+v, want the CA change", got)
				}
				t.Logf("delivered after %v", time.Since(begin))
			case <-time.After(limit):
				t.Fatalf("no delivery within %v", limit)
			}
		})
	}
}
