package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/pkid/pkid/store"
)

// A transaction's index rows are queued and written sorted in the
// table's (attr, value, entry_id) order just before anything reads
// dir_index and before commit. Sorted rows are appended to the b-tree's
// rightmost pages, where each insert is a cheap append and pages fill
// up, instead of landing between rows written before (a page split for
// every few rows). An import's writer is its critical path, so the
// sorting happens on other goroutines: the queue is cut into chunks, each
// sorted as soon as it is full, and the writer merges the sorted chunks
// as it writes.

// indexChunkRows is how many rows a chunk holds before it is handed to a
// goroutine to sort; a variable for tests.
var indexChunkRows = 1 << 16

// pendingMax bounds the rows queued (about 50 bytes each, so about 25 MiB)
// before they are all written, keeping a huge import's memory flat; a
// 100,000-entry import is written in one sorted pass. A variable for
// tests.
var pendingMax = 1 << 19

// indexBatch is how many index rows one INSERT statement writes: one
// statement per row would cost more in binding and stepping than the
// b-tree work itself.
const indexBatch = 64

// indexQueue holds index rows not yet written.
type indexQueue struct {
	cur    indexChunk        // rows being queued
	sorted []chan indexChunk // full chunks, each delivered once sorted
	n      int               // rows queued, in every chunk
}

// indexChunk is a run of rows in one buffer: row i is buf[spans[i]]. A row
// is attr NUL value NUL id (8 bytes, big-endian), so rows sort as byte
// strings in the table's order: SQLite compares TEXT with memcmp, and IDs
// are positive. One buffer instead of a string per row spares the writer
// an allocation per row and the garbage collector a pointer.
type indexChunk struct {
	buf   []byte
	spans []indexSpan
}

type indexSpan struct{ off, n uint32 }

func (c *indexChunk) row(i int) []byte {
	s := c.spans[i]
	return c.buf[s.off : s.off+s.n]
}

func (c *indexChunk) sort() {
	slices.SortFunc(c.spans, func(a, b indexSpan) int {
		return bytes.Compare(c.buf[a.off:a.off+a.n], c.buf[b.off:b.off+b.n])
	})
}

// add queues key's row for entry id; it reports whether the queue is
// full (pendingMax).
func (q *indexQueue) add(k store.DirIndexKey, id int64) bool {
	c := &q.cur
	off := len(c.buf)
	c.buf = append(c.buf, k.Attr...)
	c.buf = append(c.buf, 0)
	c.buf = append(c.buf, k.Value...)
	c.buf = append(c.buf, 0)
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(id))
	c.spans = append(c.spans, indexSpan{uint32(off), uint32(len(c.buf) - off)})
	q.n++
	if len(c.spans) >= indexChunkRows {
		full := q.cur
		// The next chunk will be as big: no growing by copies.
		q.cur = indexChunk{buf: make([]byte, 0, cap(full.buf)), spans: make([]indexSpan, 0, cap(full.spans))}
		done := make(chan indexChunk, 1)
		go func() {
			full.sort()
			done <- full
		}()
		q.sorted = append(q.sorted, done)
	}
	return q.n >= pendingMax
}

// drain empties the queue, calling write with every row in order.
func (q *indexQueue) drain(write func(row []byte) error) error {
	if q.n == 0 {
		return nil
	}
	var runs []indexChunk
	if len(q.cur.spans) > 0 {
		q.cur.sort()
		runs = append(runs, q.cur)
	}
	for _, done := range q.sorted {
		runs = append(runs, <-done)
	}
	*q = indexQueue{}
	return merge(runs, write)
}

// merge calls write with the rows of sorted runs in order, with a binary
// heap of the runs ordered by their next row.
func merge(runs []indexChunk, write func(row []byte) error) error {
	type cursor struct {
		c   *indexChunk
		i   int
		row []byte
	}
	h := make([]cursor, 0, len(runs))
	for i := range runs {
		h = append(h, cursor{c: &runs[i], row: runs[i].row(0)})
	}
	less := func(a, b int) bool { return bytes.Compare(h[a].row, h[b].row) < 0 }
	down := func(i int) {
		for {
			m := i
			if l := 2*i + 1; l < len(h) && less(l, m) {
				m = l
			}
			if r := 2*i + 2; r < len(h) && less(r, m) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		top := &h[0]
		if err := write(top.row); err != nil {
			return err
		}
		if top.i++; top.i < len(top.c.spans) {
			top.row = top.c.row(top.i)
		} else {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return nil
}

// addIndex queues the index rows of entry id. Nothing in a transaction
// but deleteIndex reads dir_index, and readers see only committed data,
// so the delay is invisible.
func (t *dirTx) addIndex(id int64, keys []store.DirIndexKey) error {
	full := false
	for _, k := range keys {
		full = t.index.add(k, id)
	}
	if full {
		return t.flushIndex()
	}
	return nil
}

// flushIndex writes the queued index rows in order, indexBatch rows per
// statement. Rows sort by attribute first, so each attribute's rows are
// one run, written by statements that hold the attribute as a constant:
// two values bound per row instead of three.
func (t *dirTx) flushIndex() error {
	w := indexWriter{t: t}
	if err := t.index.drain(w.add); err != nil {
		return err
	}
	return w.flush()
}

// indexWriter batches sorted rows into INSERT statements.
type indexWriter struct {
	t    *dirTx
	attr string
	args []any // value, id, value, id, ...
}

func (w *indexWriter) add(row []byte) error {
	i := bytes.IndexByte(row, 0)
	if len(w.args) == 2*indexBatch || string(row[:i]) != w.attr {
		if err := w.flush(); err != nil {
			return err
		}
		if string(row[:i]) != w.attr {
			w.attr = string(row[:i])
		}
	}
	w.args = append(w.args, string(row[i+1:len(row)-9]), int64(binary.BigEndian.Uint64(row[len(row)-8:])))
	return nil
}

func (w *indexWriter) flush() error {
	if len(w.args) == 0 {
		return nil
	}
	ins, err := w.t.indexStmt(w.attr, len(w.args)/2)
	if err != nil {
		return err
	}
	if _, err := ins.ExecContext(w.t.ctx, w.args...); err != nil {
		return fmt.Errorf("write index rows: %w", err)
	}
	w.args = w.args[:0]
	return nil
}

type indexStmtKey struct {
	attr string
	n    int
}

// indexStmt returns the statement inserting n index rows of attr.
func (t *dirTx) indexStmt(attr string, n int) (*sql.Stmt, error) {
	k := indexStmtKey{attr, n}
	if st, ok := t.indexStmts[k]; ok {
		return st, nil
	}
	st, err := t.stmt(indexInsert(attr, n))
	if err != nil {
		return nil, err
	}
	if t.indexStmts == nil {
		t.indexStmts = map[indexStmtKey]*sql.Stmt{}
	}
	t.indexStmts[k] = st
	return st, nil
}

// indexInsert is the statement inserting n rows of attr, each binding a
// value and an entry ID. Attribute names are descriptors or OIDs, but the
// literal is quoted as SQL requires whatever it holds.
func indexInsert(attr string, n int) string {
	lit := "'" + strings.ReplaceAll(attr, "'", "''") + "'"
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO dir_index (attr, value, entry_id) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + lit + ", ?, ?)")
	}
	return b.String()
}
