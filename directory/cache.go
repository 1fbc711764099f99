package directory

import (
	"context"
	"sync"
	"time"

	"github.com/pkid/pkid/store"
)

// DefaultCacheEntries bounds the read cache unless Config.CacheEntries
// says otherwise.
const DefaultCacheEntries = 20000

// DefaultCacheMaxAge is how long the cache trusts itself before asking the
// store for its revision: the bound on how late a change made by another
// process is seen (changes through this Tree are seen at once).
const DefaultCacheMaxAge = 100 * time.Millisecond

// cached is a stored entry with its attributes decoded once.
type cached struct {
	se    *store.DirEntry
	entry *Entry
}

// readCache holds decoded entries by normalised DN and the results of
// equality-index lookups. Any change in the store's revision empties it;
// so does every write through the Tree. Values of cached entries are
// shared with what Search returns, which is why callers must not modify
// value bytes.
type readCache struct {
	mu      sync.Mutex
	max     int
	maxAge  time.Duration
	gen     uint64 // bumped on every flush; a fill from an older gen is dropped
	rev     int64
	checked time.Time
	entries map[string]*cached
	index   map[store.DirIndexKey][]*cached
	size    int
}

func newReadCache(max int, maxAge time.Duration) *readCache {
	if max == 0 {
		max = DefaultCacheEntries
	}
	if maxAge == 0 {
		maxAge = DefaultCacheMaxAge
	}
	return &readCache{max: max, maxAge: maxAge, entries: map[string]*cached{}, index: map[store.DirIndexKey][]*cached{}}
}

// flushLocked empties the cache.
func (c *readCache) flushLocked() {
	c.gen++
	clear(c.entries)
	clear(c.index)
	c.size = 0
}

// flush is called after every write through the Tree.
func (c *readCache) flush(rev int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.flushLocked()
	if rev > c.rev {
		c.rev = rev
	}
	c.mu.Unlock()
}

// begin validates the cache against the store's revision (at most every
// maxAge) and returns the generation a later fill must match.
func (t *Tree) cacheBegin(ctx context.Context) uint64 {
	c := t.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.checked) >= c.maxAge {
		if rev, err := t.cfg.Store.Revision(ctx); err == nil {
			if rev != c.rev {
				c.flushLocked()
				c.rev = rev
				// Possibly another process's write: cached access
				// decisions may be stale too.
				t.changed("", nil)
			}
			c.checked = now
		} else {
			c.flushLocked()
		}
	}
	return c.gen
}

// entry returns the entry with that normalised DN, through the cache.
func (t *Tree) cachedEntry(ctx context.Context, gen uint64, norm string) (*cached, error) {
	c := t.cache
	c.mu.Lock()
	x := c.entries[norm]
	c.mu.Unlock()
	if x != nil {
		return x, nil
	}
	se, err := t.st.DirEntry(ctx, norm)
	if err != nil {
		return nil, err
	}
	e, err := decode(se)
	if err != nil {
		return nil, err
	}
	x = &cached{se: se, entry: e}
	c.mu.Lock()
	if c.gen == gen {
		if c.size >= c.max {
			c.flushLocked()
			gen = c.gen
		}
		c.entries[norm] = x
		c.size++
	}
	c.mu.Unlock()
	return x, nil
}

// indexedEntries calls fn with each entry holding an index row (all of
// them, whatever the scope; fn checks it), from the cache when the key's
// result is cached, else streamed from the store; a small result (at most
// 64 entries: an objectClass lookup can name every entry) is then cached.
func (t *Tree) indexedEntries(ctx context.Context, gen uint64, key store.DirIndexKey, fn func(*cached) error) error {
	c := t.cache
	c.mu.Lock()
	xs, ok := c.index[key]
	c.mu.Unlock()
	if ok {
		for _, x := range xs {
			if err := fn(x); err != nil {
				return err
			}
		}
		return nil
	}
	keep := true
	err := t.st.DirSearch(ctx, store.DirQuery{Base: 0, Scope: store.DirSub, Index: &key}, func(se *store.DirEntry) error {
		e, err := decode(se)
		if err != nil {
			return err
		}
		x := &cached{se: se, entry: e}
		if keep {
			if xs = append(xs, x); len(xs) > 64 {
				keep, xs = false, nil
			}
		}
		return fn(x)
	})
	if err != nil || !keep {
		return err
	}
	c.mu.Lock()
	if c.gen == gen && c.size+len(xs)+1 <= c.max {
		c.index[key] = xs
		c.size += len(xs) + 1
		for _, x := range xs {
			if _, ok := c.entries[x.se.NormDN]; !ok {
				c.entries[x.se.NormDN] = x
			}
		}
	}
	c.mu.Unlock()
	return nil
}

// inScope reports whether the entry with NormDN n and parent p lies in
// scope of the base (ID id, NormDN b).
func inScope(n string, parent int64, id int64, b string, scope store.DirScope) bool {
	switch scope {
	case store.DirBase:
		return n == b
	case store.DirOne:
		return parent == id
	}
	if n == b || b == "" {
		return true
	}
	return len(n) > len(b)+1 && n[len(n)-len(b):] == b && n[len(n)-len(b)-1] == ','
}

// update runs one write transaction and empties the read cache.
func (t *Tree) update(ctx context.Context, fn func(tx store.DirTx) error) (int64, error) {
	rev, err := t.st.DirUpdate(ctx, fn)
	t.cache.flush(rev)
	return rev, err
}

// getEntry reads one stored entry by normalised DN, through the cache
// when there is one.
func (t *Tree) getEntry(ctx context.Context, norm string) (*cached, error) {
	if t.cache == nil {
		se, err := t.st.DirEntry(ctx, norm)
		if err != nil {
			return nil, err
		}
		e, err := decode(se)
		if err != nil {
			return nil, err
		}
		return &cached{se: se, entry: e}, nil
	}
	return t.cachedEntry(ctx, t.cacheBegin(ctx), norm)
}
