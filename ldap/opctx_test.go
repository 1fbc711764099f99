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
