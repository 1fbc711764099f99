package revocation

import (
	"container/list"
	"sync"
	"time"
)

// cache is a bounded in-memory LRU of fetched CRLs and OCSP responses,
// each kept until its nextUpdate.
type cache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type cacheItem struct {
	key     string
	value   any
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, ll: list.New(), items: make(map[string]*list.Element)}
}

func (c *cache) get(key string, now time.Time) (any, bool) {
	if c == nil || c.max <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	it := e.Value.(*cacheItem)
	if !now.Before(it.expires) {
		c.ll.Remove(e)
		delete(c.items, key)
		return nil, false
	}
	c.ll.MoveToFront(e)
	return it.value, true
}

func (c *cache) put(key string, value any, expires time.Time) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		it := e.Value.(*cacheItem)
		it.value, it.expires = value, expires
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheItem{key: key, value: value, expires: expires})
	for c.ll.Len() > c.max {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.items, e.Value.(*cacheItem).key)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
