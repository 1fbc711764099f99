package directory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/store"
)

// DefaultCacheBytes is the read cache's budget unless Config.CacheBytes
// says otherwise: about 110,000 entries of a dozen attributes (an
// inetOrgPerson with a password hash and the operational attributes costs
// about 750 bytes, its uid lookup included).
const DefaultCacheBytes = 80 << 20

// DefaultCacheMaxAge is how long the cache trusts itself before asking the
// store for its revision: the bound on how late a change made by another
// process is seen (changes through this Tree are seen at once).
const DefaultCacheMaxAge = 100 * time.Millisecond

// cached is a stored entry decoded for one use: its attributes, and
// (when asked for) the attributes resolved against the schema for views.
// Its value bytes are shared with the read cache.
type cached struct {
	id, parent int64
	dn, norm   string
	entry      *Entry
	attrs      []resolved // nil unless resolved
}

// slot is an entry as the read cache keeps it: the stored bytes, which
// hold no pointers for the garbage collector to trace, and the index of
// each attribute's description in the Tree's table, so decoding needs no
// lookups. A slot is read-only once cached.
type slot struct {
	id, parent int64
	dn, norm   string
	data       []byte
	types      []uint16 // nil when the description table is full
	size       int32    // slotSize, once cached
	nvals      uint32   // values in data, so expand sizes its slices at once
	nattrs     uint16   // attributes in data, when it fits (else expand counts)
	counted    bool     // nattrs holds the count
	evicted    bool     // dropped from the cache's entries (under its mu)
	ref        atomic.Bool
}

// indexHit is a cached equality-index lookup: the slots of the entries
// holding the index row, so a hit costs no second lookup by DN. A slot
// stays valid while the hit lives (every write empties the whole cache);
// one evicted from the entries since is read again by DN instead, so
// that what the cache holds stays what it accounts for.
type indexHit struct {
	slots []*slot
	size  int64
	ref   atomic.Bool
}

// readCache holds decoded entries by normalised DN and the results of
// equality-index lookups, within a budget of approximate bytes. When it is
// full it evicts gradually (CLOCK: an entry used since the last sweep gets
// a second chance), so a working set larger than the budget still mostly
// hits. A directory change by another process (seen in the change feed at
// most maxAge late) empties it, and so does every write through the Tree;
// changes the directory does not show (certificates, revocations, CRLs:
// the PKI provider follows those itself) leave it alone. Values of cached
// entries are shared with what Search returns, which is why callers must
// not modify value bytes.
type readCache struct {
	mu       sync.Mutex
	budget   int64
	maxCount int // 0: no bound on the number of entries
	maxAge   time.Duration
	gen      uint64 // bumped on every flush; a fill from an older gen is dropped
	rev      int64  // every change up to rev is reflected (or flushed for)
	revKnown bool
	checked  time.Time
	checking bool // a feed check is in flight (outside mu)
	entries  map[string]*slot
	index    map[store.DirIndexKey]*indexHit
	used     int64 // bytes of entries and index hits
	usedIdx  int64 // the index hits' share of used

	// Counters, for tests and benchmarks.
	hits, misses, evictions, flushes atomic.Int64
}

func newReadCache(budget int64, maxCount int, maxAge time.Duration) *readCache {
	if budget == 0 {
		budget = DefaultCacheBytes
	}
	if maxAge == 0 {
		maxAge = DefaultCacheMaxAge
	}
	return &readCache{budget: budget, maxCount: maxCount, maxAge: maxAge, entries: map[string]*slot{}, index: map[store.DirIndexKey]*indexHit{}}
}

// Approximate costs of the Go structures around a cached entry (the
// slot, its map slot, the DN strings' headers) and an index hit.
const (
	slotOverhead  = 160
	indexOverhead = 120
)

func slotSize(x *slot) int64 {
	n := int64(slotOverhead + cap(x.data) + len(x.norm))
	if x.dn != x.norm {
		n += int64(len(x.dn))
	}
	return n
}

// flushLocked empties the cache.
func (c *readCache) flushLocked() {
	c.gen++
	clear(c.entries)
	clear(c.index)
	c.used, c.usedIdx = 0, 0
	c.flushes.Add(1)
}

// flush is called after every write through the Tree with the write's
// revision (0: nothing was written).
func (c *readCache) flush(rev int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.flushLocked()
	// Skip the write's own feed record, unless another process's changes
	// may lie between it and what the cache has seen: those are read from
	// the feed at the next check (and may need Config.Changed).
	if rev == c.rev+1 {
		c.rev = rev
	}
	c.mu.Unlock()
}

// affectsDirectory reports whether a change-feed record can change what the
// read cache holds or what the directory derives from it: directory
// changes, and CA changes (the providers' top entries and the virtual
// parents above them, and which entries are public). Certificates,
// revocations and CRLs reach the directory through the PKI provider,
// which follows the feed itself. An unknown kind counts.
func affectsDirectory(k store.ChangeKind) bool {
	switch k {
	case store.ChangeIssue, store.ChangeRevoke, store.ChangeRelease, store.ChangeCRL:
		return false
	}
	return true
}

// feedPage is how many change-feed records one check reads at a time.
const feedPage = 256

// cacheBegin validates the cache against the change feed (at most every
// maxAge) and returns the generation a later fill must match. One caller
// reads the feed while the others go on with the current generation.
func (t *Tree) cacheBegin(ctx context.Context) uint64 {
	c := t.cache
	c.mu.Lock()
	now := time.Now()
	if c.checking || now.Sub(c.checked) < c.maxAge {
		gen := c.gen
		c.mu.Unlock()
		return gen
	}
	c.checking = true
	after, known := c.rev, c.revKnown
	c.mu.Unlock()

	dirty, last, err := t.feedSince(ctx, after, known)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.checking = false
	switch {
	case err != nil && ctx.Err() != nil:
		// This caller gave up (abandon, timeout): the next one checks.
	case err != nil:
		// The store cannot say what changed: trust nothing cached.
		c.flushLocked()
		c.checked = time.Time{}
	default:
		if dirty {
			c.flushLocked()
		}
		if last > c.rev {
			c.rev = last
		}
		c.revKnown = true
		c.checked = now
	}
	if dirty {
		// Another process's directory change: cached access decisions
		// may be stale too.
		t.changed("", nil)
	}
	return c.gen
}

// feedSince reads the change feed after revision after and reports whether
// any record affects the directory, and the newest revision read. The
// first check, with no revision known, only learns the newest revision
// (the cache is empty then).
func (t *Tree) feedSince(ctx context.Context, after int64, known bool) (dirty bool, last int64, err error) {
	st := t.cfg.Store
	if !known {
		rev, err := st.Revision(ctx)
		return true, rev, err
	}
	last = after
	for {
		chs, err := st.Changes(ctx, last, feedPage)
		if err != nil {
			return false, 0, err
		}
		for _, ch := range chs {
			if affectsDirectory(ch.Kind) {
				dirty = true
			}
			last = ch.Revision
		}
		if len(chs) < feedPage {
			return dirty, last, nil
		}
		if dirty {
			// The rest cannot make it dirtier; one more page per check.
			return dirty, last, nil
		}
	}
}

// makeRoomLocked evicts until n more bytes fit in the budget (and one more
// entry in maxCount). It frees an eighth of the budget at a time, so the
// sweep's cost is spread over many fills. Map iteration starts at a random
// place, which makes the sweep's order random.
func (c *readCache) makeRoomLocked(n int64, entry bool) {
	over := c.used+n > c.budget || (entry && c.maxCount > 0 && len(c.entries) >= c.maxCount)
	if !over {
		return
	}
	target := c.budget - c.budget/8 - n
	countTarget := len(c.entries)
	if c.maxCount > 0 {
		countTarget = c.maxCount - c.maxCount/8 - 1
	}
	// Index hits and entries give up space in proportion to what they hold.
	idxTarget := int64(0)
	if c.used > 0 {
		idxTarget = c.usedIdx * max(target, 0) / c.used
	}
	for pass := 0; pass < 2; pass++ {
		for k, h := range c.index {
			if c.usedIdx <= idxTarget {
				break
			}
			if pass == 0 && h.ref.Swap(false) {
				continue
			}
			delete(c.index, k)
			c.used -= h.size
			c.usedIdx -= h.size
			c.evictions.Add(1)
		}
		for k, x := range c.entries {
			if c.used <= target && len(c.entries) <= countTarget {
				break
			}
			if pass == 0 && x.ref.Swap(false) {
				continue
			}
			delete(c.entries, k)
			x.evicted = true
			c.used -= int64(x.size)
			c.evictions.Add(1)
		}
		if c.used <= target && len(c.entries) <= countTarget {
			return
		}
	}
}

// putLocked caches x (read in generation gen) unless the cache moved on.
func (c *readCache) putLocked(gen uint64, x *slot) {
	if c.gen != gen {
		return
	}
	if old := c.entries[x.norm]; old != nil {
		x.evicted = true // an index hit holding x reads old by DN
		return
	}
	size := slotSize(x)
	if size > c.budget/4 || size > math.MaxInt32 {
		x.evicted = true
		return // a huge entry would push out too much
	}
	x.size = int32(size)
	c.makeRoomLocked(size, true)
	c.entries[x.norm] = x
	c.used += size
}

// load reads one entry from the store.
func (t *Tree) load(ctx context.Context, norm string) (*slot, error) {
	se, err := t.st.DirEntry(ctx, norm)
	if err != nil {
		return nil, err
	}
	return t.newSlot(se)
}

// newSlot checks a stored entry's encoding and notes its attribute
// descriptions' places in the table.
func (t *Tree) newSlot(se *store.DirEntry) (*slot, error) {
	x := &slot{id: se.ID, parent: se.ParentID, dn: se.DN, norm: se.NormDN, data: se.Data}
	if x.dn == x.norm {
		x.dn = x.norm // one string for both, the common case
	}
	if cap(x.data)-len(x.data) > 16 {
		x.data = append(make([]byte, 0, len(x.data)), x.data...)
	}
	b := x.data
	if len(b) == 0 || b[0] != encodingVersion {
		_, err := decode(se) // for the error's wording
		return nil, err
	}
	b = b[1:]
	var types []uint16
	full := false
	nattrs, nvals := 0, uint64(0)
	for len(b) > 0 {
		nattrs++
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return nil, fmt.Errorf("entry %q: %w", se.DN, errCorrupt)
		}
		if !full {
			if i, ok := t.descIndex(b[n : n+int(l)]); ok {
				types = append(types, i)
			} else {
				full = true
			}
		}
		b = b[n+int(l):]
		nv, n := binary.Uvarint(b)
		if n <= 0 || nv > uint64(len(b)-n) {
			return nil, fmt.Errorf("entry %q: %w", se.DN, errCorrupt)
		}
		b = b[n:]
		nvals += nv
		for i := uint64(0); i < nv; i++ {
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil, fmt.Errorf("entry %q: %w", se.DN, errCorrupt)
			}
			b = b[n+int(l):]
		}
	}
	if !full {
		x.types = t.shareTypes(types)
	}
	if nattrs <= math.MaxUint16 && nvals <= math.MaxUint32 {
		x.nattrs, x.nvals, x.counted = uint16(nattrs), uint32(nvals), true
	}
	return x, nil
}

// shareTypes returns a slice equal to types, shared with other entries of
// the same shape (entries of one object class list the same attributes).
func (t *Tree) shareTypes(types []uint16) []uint16 {
	key := make([]byte, 0, 2*len(types))
	for _, i := range types {
		key = append(key, byte(i), byte(i>>8))
	}
	if v, ok := t.shapes.Load(string(key)); ok {
		return v.([]uint16)
	}
	if t.nshapes.Add(1) <= maxDescMemo {
		t.shapes.Store(string(key), types)
	}
	return types
}

// descEntry is one attribute description of the Tree's table: the name as
// stored and what it resolves to.
type descEntry struct {
	typ string
	d   attrDesc
	ok  bool
}

// maxDescs bounds the description table (stored data could name any
// number of unknown types); entries with others decode through attrDesc.
const maxDescs = 4096

// descIndex returns the place of description b in the table, adding it.
func (t *Tree) descIndex(b []byte) (uint16, bool) {
	t.descMu.RLock()
	i, ok := t.descIdx[string(b)]
	t.descMu.RUnlock()
	if ok {
		return i, true
	}
	t.descMu.Lock()
	defer t.descMu.Unlock()
	if i, ok := t.descIdx[string(b)]; ok {
		return i, true
	}
	var tab []descEntry
	if p := t.descTab.Load(); p != nil {
		tab = *p
	}
	if len(tab) >= maxDescs {
		return 0, false
	}
	typ := string(b)
	d, ok := t.attrDesc(typ)
	// Copy on write: readers hold the old table without a lock.
	next := append(tab[:len(tab):len(tab)], descEntry{typ: typ, d: d, ok: ok})
	if t.descIdx == nil {
		t.descIdx = map[string]uint16{}
	}
	t.descIdx[typ] = uint16(len(tab))
	t.descTab.Store(&next)
	return uint16(len(tab)), true
}

// expand decodes a slot for one use; view also resolves the attributes.
// The slot was checked by newSlot, so its framing holds.
func (t *Tree) expand(x *slot, view bool) *cached { return t.expandInto(x, view, nil) }

// expandInto is expand into sc's buffers when sc is not nil: the result
// is then valid only until sc's next use (a transient search), and
// decoding allocates nothing once the buffers have grown.
func (t *Tree) expandInto(x *slot, view bool, sc *searchScratch) *cached {
	var tab []descEntry
	if x.types != nil {
		tab = *t.descTab.Load()
	}
	b := x.data[1:]
	nattrs, nvals := int(x.nattrs), int(x.nvals)
	for r := b; !x.counted && len(r) > 0; {
		l, n := binary.Uvarint(r)
		r = r[n+int(l):]
		nv, n := binary.Uvarint(r)
		r = r[n:]
		for i := uint64(0); i < nv; i++ {
			l, n := binary.Uvarint(r)
			r = r[n+int(l):]
		}
		nattrs++
		nvals += int(nv)
	}
	var out *expanded
	var attrs []Attribute
	var vals [][]byte
	var res []resolved
	if sc != nil {
		out = &sc.exp
		attrs = grow(sc.attrs, nattrs)
		vals = grow(sc.vals, nvals)
		if view {
			res = grow(sc.res, nattrs)
		}
	} else {
		out = &expanded{}
		attrs = make([]Attribute, 0, nattrs)
		vals = make([][]byte, 0, nvals)
		if view {
			res = make([]resolved, 0, nattrs)
		}
	}
	for k := 0; len(b) > 0; k++ {
		l, n := uvarint(b)
		var typ string
		var d attrDesc
		var ok bool
		if tab != nil {
			de := &tab[x.types[k]]
			typ, d, ok = de.typ, de.d, de.ok
		} else {
			typ = t.intern(b[n : n+int(l)])
			if view {
				d, ok = t.attrDesc(typ)
			}
		}
		b = b[n+int(l):]
		nv, n := uvarint(b)
		b = b[n:]
		start := len(vals)
		for i := uint64(0); i < nv; i++ {
			l, n := uvarint(b)
			vals = append(vals, b[n:n+int(l):n+int(l)])
			b = b[n+int(l):]
		}
		v := vals[start:len(vals):len(vals)]
		attrs = append(attrs, Attribute{Type: typ, Values: v})
		if view && ok {
			res = append(res, resolved{at: d.at, opts: d.opts, vals: v})
		}
	}
	if sc != nil {
		sc.attrs, sc.vals = attrs, vals
		if view {
			sc.res = res
		}
	}
	out.e = Entry{DN: x.dn, Attributes: attrs}
	out.c = cached{id: x.id, parent: x.parent, dn: x.dn, norm: x.norm, entry: &out.e, attrs: res}
	return &out.c
}

// uvarint is binary.Uvarint for data newSlot checked, with the one-byte
// case (almost every length and count) first: entries are decoded on
// every search.
func uvarint(b []byte) (uint64, int) {
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	return binary.Uvarint(b)
}

// expanded is what expand returns, in one allocation.
type expanded struct {
	c cached
	e Entry
}

// grow returns s emptied, with room for n elements.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, 0, n)
	}
	return s[:0]
}

// fromStore decodes a stored entry for one use (no cache).
func (t *Tree) fromStore(se *store.DirEntry, view bool) (*cached, *slot, error) {
	x, err := t.newSlot(se)
	if err != nil {
		return nil, nil, err
	}
	return t.expand(x, view), x, nil
}

// resolve resolves attributes against the schema, as views need them.
func (t *Tree) resolve(attrs []Attribute) []resolved {
	out := make([]resolved, 0, len(attrs))
	for _, a := range attrs {
		d, ok := t.attrDesc(a.Type)
		if !ok {
			continue
		}
		out = append(out, resolved{at: d.at, opts: d.opts, vals: a.Values})
	}
	return out
}

// attrDesc is parseAttrDesc through a memo: stored entries and filters
// repeat a few attribute descriptions endlessly. ok is false for one that
// does not parse.
func (t *Tree) attrDesc(desc string) (attrDesc, bool) {
	if v, ok := t.descs.Load(desc); ok {
		d := v.(descMemo)
		return d.d, d.ok
	}
	d, _, err := t.schema.parseAttrDesc(desc)
	m := descMemo{d: d, ok: err == nil}
	if t.ndescs.Add(1) <= maxDescMemo {
		t.descs.Store(desc, m)
	}
	return m.d, m.ok
}

type descMemo struct {
	d  attrDesc
	ok bool
}

// maxDescMemo bounds the memo of attribute descriptions (and of interned
// type names): filters and stored data could name any number of unknown
// types.
const maxDescMemo = 4096

// parsedDN is a DN string parsed and normalised, as remembered by
// parseDNMemo. Both are read-only once stored.
type parsedDN struct {
	d    DN
	norm string
}

// maxDNMemo bounds the memo of parsed search bases and provider tops: a
// directory is searched from a few bases, but a client can name any.
const maxDNMemo = 1024

// parseDNMemo is parseDN through a memo: searches name the same few bases
// over and over, and parsing and normalising one costs several
// allocations. The memo holds only DNs that pass parseDN; once full, new
// ones are parsed each time.
func (t *Tree) parseDNMemo(s string) (DN, string, error) {
	if v, ok := t.dns.Load(s); ok {
		p := v.(*parsedDN)
		return p.d, p.norm, nil
	}
	d, norm, err := t.parseDN(s)
	if err == nil && t.ndns.Add(1) <= maxDNMemo {
		t.dns.Store(s, &parsedDN{d: d, norm: norm})
	}
	return d, norm, err
}

// normTop returns a provider top's normalised DN (ok false when it does
// not parse), through parseDNMemo. A top naming a type the schema lacks
// is normalised without the memo, which must hold only DNs parseDN
// accepts: a search base is looked up in it too.
func (t *Tree) normTop(s string) (string, bool) {
	if _, norm, err := t.parseDNMemo(s); err == nil {
		return norm, true
	}
	d, err := ParseDN(s)
	if err != nil {
		return "", false
	}
	return d.Normalize(t.schema), true
}

// intern returns a string equal to b, shared with earlier calls.
func (t *Tree) intern(b []byte) string {
	if v, ok := t.types.Load(string(b)); ok {
		return v.(string)
	}
	s := string(b)
	if t.ntypes.Add(1) <= maxDescMemo {
		t.types.Store(s, s)
	}
	return s
}

// cachedEntry returns the entry with that normalised DN, through the
// cache; view resolves its attributes too.
func (t *Tree) cachedEntry(ctx context.Context, gen uint64, norm string, view bool) (*cached, error) {
	x, err := t.cachedSlot(ctx, gen, norm)
	if err != nil {
		return nil, err
	}
	return t.expand(x, view), nil
}

// cachedSlot returns the slot of the entry with that normalised DN,
// reading it into the cache on a miss.
func (t *Tree) cachedSlot(ctx context.Context, gen uint64, norm string) (*slot, error) {
	c := t.cache
	c.mu.Lock()
	x := c.entries[norm]
	c.mu.Unlock()
	if x != nil {
		c.hits.Add(1)
		if !x.ref.Load() {
			x.ref.Store(true)
		}
		return x, nil
	}
	c.misses.Add(1)
	x, err := t.load(ctx, norm)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.putLocked(gen, x)
	c.mu.Unlock()
	return x, nil
}

// getValues returns the DN of the stored entry with that normalised DN and
// the values of its attribute whose description is desc (compared as
// Entry.Get does), through the cache when there is one, without decoding
// the rest of the entry: what a simple bind needs.
func (t *Tree) getValues(ctx context.Context, norm, desc string) (string, [][]byte, error) {
	var x *slot
	var err error
	if t.cache == nil {
		x, err = t.load(ctx, norm)
	} else {
		x, err = t.cachedSlot(ctx, t.cacheBegin(ctx), norm)
	}
	if err != nil {
		return "", nil, err
	}
	b := x.data[1:] // checked by newSlot
	for len(b) > 0 {
		l, n := uvarint(b)
		typ := b[n : n+int(l)]
		b = b[n+int(l):]
		nv, n := uvarint(b)
		b = b[n:]
		match := len(typ) == len(desc) && strings.EqualFold(string(typ), desc)
		var out [][]byte
		for i := uint64(0); i < nv; i++ {
			l, n := uvarint(b)
			if match {
				out = append(out, b[n:n+int(l):n+int(l)])
			}
			b = b[n+int(l):]
		}
		if match {
			return x.dn, out, nil
		}
	}
	return x.dn, nil, nil
}

// maxIndexHit is the largest index result kept: an objectClass lookup can
// name every entry, and streaming it from the store costs less memory.
const maxIndexHit = 64

// indexedEntries calls fn with each entry holding an index row (all of
// them, whatever the scope; fn checks it), resolved for views, from the
// cache when the key's result is cached, else streamed from the store; a
// small result (at most maxIndexHit entries) is then cached.
func (t *Tree) indexedEntries(ctx context.Context, gen uint64, key store.DirIndexKey, sc *searchScratch, fn func(*cached) error) error {
	c := t.cache
	c.mu.Lock()
	h := c.index[key]
	if h == nil {
		c.mu.Unlock()
		c.misses.Add(1)
		return t.indexedFromStore(ctx, gen, key, fn)
	}
	if !h.ref.Load() {
		h.ref.Store(true)
	}
	var xs []*slot
	if sc != nil {
		xs = grow(sc.slots, len(h.slots))[:len(h.slots)]
	} else {
		xs = make([]*slot, len(h.slots))
	}
	for i, x := range h.slots {
		if x.evicted {
			xs[i] = nil
			continue
		}
		if xs[i] = x; !x.ref.Load() {
			x.ref.Store(true)
		}
	}
	c.mu.Unlock()
	c.hits.Add(1)
	err := t.indexedCached(ctx, gen, h, xs, sc, fn)
	if sc != nil {
		clear(xs)
		sc.slots = xs[:0]
	}
	return err
}

// indexedCached calls fn with the entries of a cached index hit: xs are
// its slots still cached (nil for one evicted since).
func (t *Tree) indexedCached(ctx context.Context, gen uint64, h *indexHit, xs []*slot, sc *searchScratch, fn func(*cached) error) error {
	for i, x := range xs {
		var y *cached
		if x == nil {
			// Evicted since: read it again (gone: no longer a match).
			var err error
			if y, err = t.cachedEntry(ctx, gen, h.slots[i].norm, true); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
		} else {
			y = t.expandInto(x, true, sc)
		}
		if err := fn(y); err != nil {
			return err
		}
	}
	return nil
}

// indexedFromStore is indexedEntries on a miss: the entries streamed from
// the store, and the result cached when small.
func (t *Tree) indexedFromStore(ctx context.Context, gen uint64, key store.DirIndexKey, fn func(*cached) error) error {
	c := t.cache
	var xs []*slot
	keep := true
	err := t.st.DirSearch(ctx, store.DirQuery{Base: 0, Scope: store.DirSub, Index: &key}, func(se *store.DirEntry) error {
		y, x, err := t.fromStore(se, true)
		if err != nil {
			return err
		}
		if keep {
			if xs = append(xs, x); len(xs) > maxIndexHit {
				keep, xs = false, nil
			} else {
				// Cached before fn sees it: access control reads the
				// entry again by DN.
				c.mu.Lock()
				c.putLocked(gen, x)
				c.mu.Unlock()
			}
		}
		return fn(y)
	})
	if err != nil || !keep {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return nil
	}
	h := &indexHit{slots: xs, size: int64(indexOverhead + len(key.Attr) + len(key.Value) + 16*len(xs))}
	c.makeRoomLocked(h.size, false)
	c.index[key] = h
	c.used += h.size
	c.usedIdx += h.size
	return nil
}

// update runs one write transaction and empties the read cache.
func (t *Tree) update(ctx context.Context, fn func(tx store.DirTx) error) (int64, error) {
	rev, err := t.st.DirUpdate(ctx, fn)
	t.cache.flush(rev)
	return rev, err
}

// getEntry reads one stored entry by normalised DN, through the cache
// when there is one (its attributes unresolved).
func (t *Tree) getEntry(ctx context.Context, norm string) (*cached, error) {
	if t.cache == nil {
		x, err := t.load(ctx, norm)
		if err != nil {
			return nil, err
		}
		return t.expand(x, false), nil
	}
	return t.cachedEntry(ctx, t.cacheBegin(ctx), norm, false)
}
