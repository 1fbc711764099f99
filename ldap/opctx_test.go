package ldap

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestOpContext checks that an operation's context ends as
// context.WithDeadline would, with Done closed whenever Err has reported
// the end, whether or not Done was asked for before.
func TestOpContext(t *testing.T) {
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-time.After(2 * time.Second):
			return false
		}
	}
	tests := []struct {
		name      string
		timeout   time.Duration
		doneFirst bool // ask for Done before the end
		end       func(c *opContext, parentCancel context.CancelFunc)
		want      error
	}{
		{"abandon", time.Minute, false, func(c *opContext, _ context.CancelFunc) { c.cancel() }, context.Canceled},
		{"abandon while waited on", time.Minute, true, func(c *opContext, _ context.CancelFunc) { c.cancel() }, context.Canceled},
		{"deadline", 20 * time.Millisecond, false, func(*opContext, context.CancelFunc) { time.Sleep(40 * time.Millisecond) }, context.DeadlineExceeded},
		{"deadline while waited on", 20 * time.Millisecond, true, func(*opContext, context.CancelFunc) { time.Sleep(40 * time.Millisecond) }, context.DeadlineExceeded},
		{"connection closed", time.Minute, false, func(_ *opContext, p context.CancelFunc) { p() }, context.Canceled},
		{"connection closed while waited on", time.Minute, true, func(_ *opContext, p context.CancelFunc) { p() }, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, pcancel := context.WithCancel(context.Background())
			defer pcancel()
			c := &opContext{parent: parent, deadline: time.Now().Add(tc.timeout)}
			defer c.cancel()
			if err := c.Err(); err != nil {
				t.Fatalf("Err before the end = %v", err)
			}
			if d, ok := c.Deadline(); !ok || d != c.deadline {
				t.Errorf("Deadline = %v, %v", d, ok)
			}
			var done <-chan struct{}
			if tc.doneFirst {
				done = c.Done()
			}
			tc.end(c, pcancel)
			if !tc.doneFirst {
				if err := c.Err(); !errors.Is(err, tc.want) {
					t.Fatalf("Err = %v, want %v", err, tc.want)
				}
				done = c.Done()
			}
			if !closed(done) {
				t.Fatal("Done not closed after the end")
			}
			if err := c.Err(); !errors.Is(err, tc.want) {
				t.Errorf("Err = %v, want %v", err, tc.want)
			}
			c.cancel() // the operation's end: Err stays what it was
			if err := c.Err(); !errors.Is(err, tc.want) {
				t.Errorf("Err after cancel = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestOpContextYoung: while the operation is young (inline on its reader,
// not yet handed over) Err does not read the clock; once the watch hands
// it over, a deadline that has passed ends it.
func TestOpContextYoung(t *testing.T) {
	c := &opContext{parent: context.Background(), deadline: time.Now().Add(-time.Second)}
	defer c.cancel()
	c.young.Store(true)
	if err := c.Err(); err != nil {
		t.Fatalf("Err of a young operation = %v, want nil", err)
	}
	c.young.Store(false)
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after the hand-over = %v, want DeadlineExceeded", err)
	}
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("Done not closed after Err reported the deadline")
	}
	// A young operation is still cancelled at once.
	y := &opContext{parent: context.Background(), deadline: time.Now().Add(time.Minute)}
	y.young.Store(true)
	y.cancel()
	if err := y.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err of a cancelled young operation = %v, want Canceled", err)
	}
}
