package ldap

import (
	"sync/atomic"
	"time"
)

// An operation run inline (conn.dispatch) is in one of these states; the
// first to move it out of inlineRunning decides who reads next: the
// reader itself when the operation ends in time, or a new reader started
// by the watch.
const (
	inlineRunning int32 = iota
	inlineHandedOff
	inlineDone
)

// inlineLimit is how long an operation runs on its connection's reader
// before reading moves to a new goroutine; inlineTick is how often the
// watch looks. An abandon or another request waits at most about their
// sum before it is read.
const (
	inlineLimit = 2 * time.Millisecond
	inlineTick  = 2 * time.Millisecond
	// inlineIdleTicks is how many ticks without inline operations the
	// watch waits before it ends (a new operation starts it again).
	inlineIdleTicks = 250
)

// inlineWatch finds operations that run long on their reader and starts
// a new reader for their connection. It runs only while operations do.
type inlineWatch struct {
	running atomic.Int64 // operations running inline now
	on      atomic.Bool  // the watch goroutine runs
}

// begin notes an inline operation starting, starting the watch if needed.
func (w *inlineWatch) begin(s *Server) {
	w.running.Add(1)
	if !w.on.Load() && w.on.CompareAndSwap(false, true) {
		go w.watch(s)
	}
}

// end notes an inline operation ending.
func (w *inlineWatch) end() { w.running.Add(-1) }

func (w *inlineWatch) watch(s *Server) {
	idle := 0
	var long []*operation
	for {
		time.Sleep(inlineTick)
		if w.running.Load() == 0 {
			if idle++; idle < inlineIdleTicks {
				continue
			}
			w.on.Store(false)
			// An operation that began after the check saw the watch on.
			if w.running.Load() == 0 || !w.on.CompareAndSwap(false, true) {
				return
			}
		}
		idle = 0
		now := time.Now()
		long = long[:0]
		s.mu.Lock()
		for c := range s.conns {
			if o := c.inlineOp.Load(); o != nil && now.Sub(o.start) >= inlineLimit {
				long = append(long, o)
			}
		}
		s.mu.Unlock()
		for _, o := range long {
			o.c.takeOver(o)
		}
		clear(long)
	}
}

// takeOver starts a new reader for c if its reader still runs o, which
// then ends on its goroutine without reading again.
func (c *conn) takeOver(o *operation) {
	if c.inlineOp.Load() != o || !o.inline.CompareAndSwap(inlineRunning, inlineHandedOff) {
		return
	}
	c.s.log.Debug("LDAP operation runs long; reading on", "remote", c.remote, "op", OpName(o.tag), "msgid", o.id)
	go c.readLoop(c.rd)
}
