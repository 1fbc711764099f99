package ldap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var errTooManyFiles = syscall.EMFILE

// readBufferSize is each connection's read buffer: requests are small,
// and 10,000 idle clients must not cost 10,000 large buffers.
const readBufferSize = 1024

// flushSize is how much of an operation's output is gathered before it
// is written, so a small search costs one write and a large one bounded
// memory.
const flushSize = 32 << 10

// conn is one client connection: a reader goroutine (serve) that decodes
// requests and runs each on itself (inline), handing the reading over to a
// new goroutine when an operation runs long (inline.go); binds, StartTLS
// and refusals stay on the reader. Writes are serialised by wmu with a
// deadline each.
type conn struct {
	s      *Server
	remote string
	useTLS bool // LDAPS: TLS from the first byte

	ctx    context.Context // ends when the connection closes
	cancel context.CancelFunc

	wmu       sync.Mutex // serialises writes and guards nc swaps (StartTLS)
	nc        net.Conn   // what requests are read from and responses written to
	raw       net.Conn   // the TCP connection under nc
	tlsState  atomic.Pointer[tls.ConnectionState]
	closeOnce sync.Once
	closed    atomic.Bool

	stopping atomic.Bool // Shutdown: read no more requests

	identity atomic.Pointer[Identity]

	opsMu    sync.Mutex
	inflight map[int32]*operation
	ops      sync.WaitGroup
	sem      chan struct{}

	paged pagedSearches

	rd       *bufio.Reader             // the reader's buffer; for a takeover (inline.go)
	inlineOp atomic.Pointer[operation] // the operation the reader runs, if any
	readDone chan struct{}             // closed when the last reader ends
}

// operation is one request in progress.
type operation struct {
	c         *conn
	id        int32
	tag       byte
	ctx       opContext // cancelled by abandon
	abandoned atomic.Bool
	buf       []byte // responses not yet written
	start     time.Time
	inline    atomic.Int32 // inlineRunning, inlineHandedOff or inlineDone
}

var anonymous = &Identity{}

func (s *Server) newConn(nc net.Conn, useTLS bool) *conn {
	c := &conn{s: s, nc: nc, raw: nc, remote: nc.RemoteAddr().String(), useTLS: useTLS,
		inflight: map[int32]*operation{}, sem: make(chan struct{}, s.cfg.MaxOpsPerConn), readDone: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.identity.Store(anonymous)
	c.paged.max = s.cfg.MaxPagedSearches
	return c
}

// Identity returns what the connection is bound as.
func (c *conn) Identity() Identity { return *c.identity.Load() }

// serve is the connection's reader: it runs until the client unbinds or
// disconnects, a protocol error, the idle timeout or Shutdown.
func (c *conn) serve() {
	if c.useTLS {
		tc := tls.Server(c.s.tlsConn(c.nc), c.s.cfg.TLS)
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.ReadTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.s.log.Debug("LDAPS handshake", "remote", c.remote, "err", err)
			c.close()
			return
		}
		st := tc.ConnectionState()
		c.wmu.Lock()
		c.nc = tc
		c.wmu.Unlock()
		c.tlsState.Store(&st)
	}
	if c.readLoop(bufio.NewReaderSize(c.nc, readBufferSize)) {
		// Another goroutine reads now; the connection lasts until it ends.
		<-c.readDone
	}
}

// readLoop reads and runs requests until the connection ends (it then
// closes it and returns false), or until it hands the reading over to
// another goroutine because an operation it ran inline took long (true).
func (c *conn) readLoop(rd *bufio.Reader) (handedOff bool) {
	defer func() {
		if !handedOff {
			c.close()
			close(c.readDone)
		}
	}()
	for {
		if c.stopping.Load() {
			c.ops.Wait()
			c.disconnect(ResultUnavailable, "the server is shutting down")
			return
		}
		if rd.Buffered() == 0 {
			c.raw.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		}
		if _, err := rd.Peek(1); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !c.stopping.Load() {
				if c.busy() {
					continue // a long search is not idleness
				}
				c.s.log.Debug("LDAP idle timeout", "remote", c.remote)
				c.disconnect(ResultUnavailable, "idle timeout")
				return
			}
			if c.stopping.Load() {
				continue
			}
			c.abandonAll()
			return
		}
		if !wholeMessageBuffered(rd) {
			c.raw.SetReadDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
		}
		m, err := ReadMessage(rd, c.s.cfg.MaxMessageSize)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				c.abandonAll()
				if !errors.Is(err, io.EOF) {
					c.s.log.Debug("LDAP read", "remote", c.remote, "err", err)
				}
				return
			}
			if resp := pe.Response(); resp != nil {
				c.s.log.Debug("LDAP request refused", "remote", c.remote, "msgid", pe.MessageID, "err", err)
				if b, err := resp.Marshal(); err == nil && c.write(b) == nil {
					continue
				}
				return
			}
			c.s.log.Info("LDAP protocol error", "remote", c.remote, "err", err)
			c.abandonAll()
			c.disconnect(pe.Code, "malformed request: "+pe.Error())
			return
		}
		switch req := m.Op.(type) {
		case *UnbindRequest:
			c.abandonAll()
			c.s.log.Debug("LDAP unbind", "remote", c.remote)
			return
		case *AbandonRequest:
			c.abandon(req.ID)
		case *BindRequest:
			c.abandonAll()
			c.ops.Wait()
			c.bind(m, req)
		case *ExtendedRequest:
			if req.Name == OIDStartTLS {
				nrd, ok := c.startTLS(m, rd)
				if !ok {
					return
				}
				rd = nrd
				continue
			}
			if c.dispatch(m, rd) {
				return true
			}
		default:
			if !isRequest(m.Op.Tag()) {
				c.disconnect(ResultProtocolError, OpName(m.Op.Tag())+" is not a request")
				return
			}
			if c.dispatch(m, rd) {
				return true
			}
		}
	}
}

// wholeMessageBuffered reports whether the next message is already in
// the read buffer, so reading it cannot block and needs no deadline (the
// common case: a request arrives in one segment).
func wholeMessageBuffered(rd *bufio.Reader) bool {
	n := rd.Buffered()
	if n < 2 {
		return false
	}
	h, _ := rd.Peek(min(n, 6))
	l := int(h[1])
	hdr := 2
	if l&0x80 != 0 {
		k := l & 0x7f
		if k == 0 || k > 4 || len(h) < 2+k {
			return false
		}
		l = 0
		for _, b := range h[2 : 2+k] {
			l = l<<8 | int(b)
		}
		hdr += k
	}
	return l >= 0 && hdr+l <= n
}

func isRequest(tag byte) bool {
	switch tag {
	case TagSearchRequest, TagModifyRequest, TagAddRequest, TagDelRequest,
		TagModifyDNRequest, TagCompareRequest, TagExtendedRequest:
		return true
	}
	return false
}

// dispatch runs m on the reader's goroutine, once the connection has a
// free operation slot (a client that floods requests waits for its own).
// Most operations end in microseconds, and running them here saves a
// goroutine switch each; one that runs long is noticed by the server's
// watch (inline.go), which starts a new reader with rd, so an abandon is
// still read. dispatch reports whether that happened: the caller must
// then stop reading.
func (c *conn) dispatch(m *Message, rd *bufio.Reader) (handedOff bool) {
	select {
	case c.sem <- struct{}{}:
	case <-c.ctx.Done():
		return false
	}
	start := time.Now()
	o := &operation{c: c, id: m.ID, tag: m.Op.Tag(), start: start}
	o.ctx.parent, o.ctx.deadline = c.ctx, start.Add(c.s.cfg.OperationTimeout)
	ctx := &o.ctx
	c.opsMu.Lock()
	if prev := c.inflight[m.ID]; prev != nil {
		c.opsMu.Unlock()
		ctx.cancel()
		<-c.sem
		// RFC 4511 §4.1.1.1: a messageID in use is a protocol error.
		c.disconnect(ResultProtocolError, "messageID already in use by an operation in progress")
		return false
	}
	c.inflight[m.ID] = o
	c.ops.Add(1)
	c.opsMu.Unlock()
	c.rd = rd
	// Young until handed over: only when the time limit is far beyond
	// the hand-over (inlineLimit), so that a tiny limit is still exact.
	o.ctx.young.Store(c.s.cfg.OperationTimeout >= youngLimit)
	c.inlineOp.Store(o)
	c.s.inline.begin(c.s)
	c.run(ctx, o, m)
	ctx.cancel()
	c.opsMu.Lock()
	delete(c.inflight, o.id)
	c.opsMu.Unlock()
	<-c.sem
	c.inlineOp.Store(nil)
	c.s.inline.end()
	handedOff = !o.inline.CompareAndSwap(inlineRunning, inlineDone)
	c.ops.Done()
	return handedOff
}

// run performs one operation and writes its responses.
func (c *conn) run(ctx context.Context, o *operation, m *Message) {
	var res LDAPResult
	if ctl := unsupportedCritical(m); ctl != "" {
		res = LDAPResult{ResultCode: ResultUnavailableCriticalExtension,
			DiagnosticMessage: "critical control " + ctl + " is not supported with " + OpName(o.tag)}
		o.finish(ResponseFor(o.tag, res), nil)
		return
	}
	id := c.Identity()
	var resp Op
	var ctls []Control
	switch req := m.Op.(type) {
	case *SearchRequest:
		resp, ctls = c.search(ctx, o, id, m, req)
	case *CompareRequest:
		resp = c.compare(ctx, o, id, req)
	case *AddRequest:
		err := c.s.cfg.Backend.Add(ctx, id, req)
		resp = &AddResponse{c.result(ctx, o, err)}
	case *ModifyRequest:
		err := c.s.cfg.Backend.Modify(ctx, id, req)
		resp = &ModifyResponse{c.result(ctx, o, err)}
	case *DelRequest:
		err := c.s.cfg.Backend.Delete(ctx, id, req.DN)
		resp = &DelResponse{c.result(ctx, o, err)}
	case *ModifyDNRequest:
		err := c.s.cfg.Backend.ModifyDN(ctx, id, req)
		resp = &ModifyDNResponse{c.result(ctx, o, err)}
	case *ExtendedRequest:
		resp = c.extended(ctx, o, id, req)
	}
	o.finish(resp, ctls)
}

// unsupportedCritical returns the OID of a critical control the request
// carries that the server does not implement for it (RFC 4511
// §4.1.11: unavailableCriticalExtension), or "".
func unsupportedCritical(m *Message) string {
	for _, ctl := range m.Controls {
		if !ctl.Criticality {
			continue
		}
		switch {
		case ctl.OID == OIDPagedResults && m.Op.Tag() == TagSearchRequest:
		case ctl.OID == OIDManageDsaIT:
			// pkid keeps no referral objects, so every entry is already
			// treated as an ordinary object.
		default:
			return ctl.OID
		}
	}
	return ""
}

// result turns a backend's error into the LDAPResult to send.
func (c *conn) result(ctx context.Context, o *operation, err error) LDAPResult {
	if err == nil {
		return LDAPResult{ResultCode: ResultSuccess}
	}
	var le *Error
	switch {
	case errors.As(err, &le):
		return le.Result()
	case errors.Is(err, context.DeadlineExceeded):
		return LDAPResult{ResultCode: ResultTimeLimitExceeded, DiagnosticMessage: "the operation ran out of time"}
	case errors.Is(err, context.Canceled):
		return LDAPResult{ResultCode: ResultCanceled, DiagnosticMessage: "the operation was abandoned"}
	}
	c.s.log.Warn("LDAP operation failed", "remote", c.remote, "op", OpName(o.tag), "msgid", o.id, "err", err)
	return LDAPResult{ResultCode: ResultOperationsError, DiagnosticMessage: "internal error; see the server log"}
}

// send queues one response of o, writing when enough has gathered.
func (o *operation) send(op Op, ctls []Control) error {
	if o.abandoned.Load() {
		return context.Canceled
	}
	m := Message{ID: o.id, Op: op, Controls: ctls}
	var err error
	if o.buf == nil {
		o.buf = getBuf()
	}
	if o.buf, err = m.Append(o.buf); err != nil {
		return err
	}
	if len(o.buf) >= flushSize {
		err = o.c.write(o.buf)
		o.buf = o.buf[:0]
	}
	return err
}

// finish sends the final response of o (nothing for an abandoned
// operation, RFC 4511 §4.11) and logs it.
func (o *operation) finish(resp Op, ctls []Control) {
	defer func() {
		if o.buf != nil {
			putBuf(o.buf)
			o.buf = nil
		}
	}()
	if o.abandoned.Load() || resp == nil {
		return
	}
	if err := o.send(resp, ctls); err != nil {
		return
	}
	if len(o.buf) > 0 {
		o.c.write(o.buf)
	}
	log := o.c.s.log
	if log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("LDAP operation", "remote", o.c.remote, "op", OpName(o.tag), "msgid", o.id,
			"result", resultOf(resp).ResultCode.String(), "dur", time.Since(o.start))
	}
}

func resultOf(op Op) LDAPResult {
	switch r := op.(type) {
	case *SearchResultDone:
		return r.LDAPResult
	case *AddResponse:
		return r.LDAPResult
	case *ModifyResponse:
		return r.LDAPResult
	case *DelResponse:
		return r.LDAPResult
	case *ModifyDNResponse:
		return r.LDAPResult
	case *CompareResponse:
		return r.LDAPResult
	case *ExtendedResponse:
		return r.LDAPResult
	case *BindResponse:
		return r.LDAPResult
	}
	return LDAPResult{}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() []byte { return (*bufPool.Get().(*[]byte))[:0] }

func putBuf(b []byte) {
	if cap(b) > 4*flushSize {
		return
	}
	bufPool.Put(&b)
}

// respond writes a single response outside an operation goroutine.
func (c *conn) respond(id int32, op Op, ctls []Control) error {
	b, err := (&Message{ID: id, Op: op, Controls: ctls}).Append(getBuf())
	if err != nil {
		return err
	}
	err = c.write(b)
	putBuf(b)
	return err
}

// write writes b with the write deadline; a client that does not read in
// time is disconnected, which ends its operations.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.raw.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.s.log.Info("LDAP write failed; disconnecting", "remote", c.remote, "err", err)
		c.close()
		return err
	}
	return nil
}

// busy reports whether operations are in progress.
func (c *conn) busy() bool {
	c.opsMu.Lock()
	defer c.opsMu.Unlock()
	return len(c.inflight) > 0
}

// abandon cancels the operation with messageID id; it will send nothing.
func (c *conn) abandon(id int32) {
	c.opsMu.Lock()
	o := c.inflight[id]
	c.opsMu.Unlock()
	if o != nil {
		o.abandoned.Store(true)
		o.ctx.cancel()
		c.s.log.Debug("LDAP abandon", "remote", c.remote, "msgid", id, "op", OpName(o.tag))
	}
}

// abandonAll abandons every operation in progress.
func (c *conn) abandonAll() {
	c.opsMu.Lock()
	for _, o := range c.inflight {
		o.abandoned.Store(true)
		o.ctx.cancel()
	}
	c.opsMu.Unlock()
}

// stopReading makes serve stop after the operations in progress.
func (c *conn) stopReading() {
	c.stopping.Store(true)
	c.raw.SetReadDeadline(time.Now())
}

// disconnect sends a Notice of Disconnection (RFC 4511 §4.4.1) and closes.
func (c *conn) disconnect(code ResultCode, msg string) {
	if c.closed.Load() {
		return
	}
	if b, err := NoticeOfDisconnection(code, msg).Marshal(); err == nil {
		c.write(b)
	}
	c.close()
}

// close closes the TCP connection, which also unblocks a write stuck on
// a client that does not read, and ends the operations in progress.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.cancel()
		c.raw.Close()
	})
}
