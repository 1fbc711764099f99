package ldap

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// opContext is an operation's context: the connection's, bounded by the
// operation's deadline and cancelled on its own by abandon. It behaves as
// context.WithDeadline(parent, deadline) would, but arms no timer until
// something waits on Done: a search answered from the read cache only
// polls Err, and a timer per operation (armed, then stopped) cost about
// 5% of the CPU of such a search.
type opContext struct {
	parent   context.Context
	deadline time.Time
	canceled atomic.Bool

	mu    sync.Mutex
	inner atomic.Pointer[innerContext] // set once, under mu
}

type innerContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Deadline implements context.Context.
func (c *opContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Value implements context.Context.
func (c *opContext) Value(key any) any { return c.parent.Value(key) }

// Done implements context.Context; the first call arms the deadline.
func (c *opContext) Done() <-chan struct{} { return c.materialize().Done() }

// Err implements context.Context. While nothing waits on Done it checks
// the cancellation, the parent and the clock itself; once the context has
// ended it materialises the real one, so that Done is closed whenever Err
// has reported the end (as the context contract requires).
func (c *opContext) Err() error {
	if in := c.inner.Load(); in != nil {
		return in.ctx.Err()
	}
	if !c.canceled.Load() && c.parent.Err() == nil && time.Now().Before(c.deadline) {
		return nil
	}
	return c.materialize().Err()
}

// materialize returns the context.WithDeadline the operation stands for,
// creating it on first use (cancelled at once if cancel came first).
func (c *opContext) materialize() context.Context {
	if in := c.inner.Load(); in != nil {
		return in.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.inner.Load(); in != nil {
		return in.ctx
	}
	ctx, cancel := context.WithDeadline(c.parent, c.deadline)
	if c.canceled.Load() {
		cancel()
	}
	c.inner.Store(&innerContext{ctx: ctx, cancel: cancel})
	return ctx
}

// cancel ends the operation (abandon, or its end): Err reports
// context.Canceled unless it had ended already.
func (c *opContext) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled.Swap(true) {
		return
	}
	if in := c.inner.Load(); in != nil {
		in.cancel()
	}
}
