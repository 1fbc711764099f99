package directory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// SearchParams is a search as the frontend decoded it, plus paging.
type SearchParams struct {
	Request *ldap.SearchRequest
	// PageSize > 0 asks for one page (RFC 2696) of at most that many
	// entries, continuing after Cookie (nil: the first page). The cookie
	// counts matching entries already sent: an entry added or deleted
	// between pages can shift later pages by one.
	PageSize int
	Cookie   []byte
}

// SearchResult is what a search returns besides the entries.
type SearchResult struct {
	// Cookie continues a paged search; nil when the last page was sent.
	Cookie []byte
	// Entries counts the entries sent.
	Entries int
}

// Search runs a search (RFC 4511 §4.5) and calls fn with each matching
// entry, holding only the selected attributes (binary-syntax ones named
// with ";binary"), streamed from the store without loading the scope.
// fn's error stops the search and is returned. The root DSE and the
// subschema entry are found by base-scope searches of "" and cn=Subschema.
//
// derefAliases: finding the base follows alias chains; in searching, an
// alias entry in scope is replaced by its target entry (not the target's
// subtree), each entry returned once.
//
// Failures, as *ldap.Error: invalidDNSyntax; noSuchObject with matchedDN;
// sizeLimitExceeded and timeLimitExceeded (after sending what fit, from
// the smaller of the client's and the server's limit); the context's error
// when ctx ends (abandon). Entries and attributes the caller may not read
// are left out; filter items on attributes it may not search are
// Undefined.
func (t *Tree) Search(ctx context.Context, id Identity, p SearchParams, fn func(*Entry) error) (SearchResult, error) {
	return t.search(ctx, id, p, nil, fn)
}

// search is Search; with sc set the search is transient: the *Entry fn
// receives (and its attribute and value slices) is valid only until fn
// returns, which lets the LDAP frontend, which encodes it at once, reuse
// sc's buffers from entry to entry and search to search.
func (t *Tree) search(ctx context.Context, id Identity, p SearchParams, sc *searchScratch, fn func(*Entry) error) (SearchResult, error) {
	req := p.Request
	d, norm, err := t.parseDNMemo(req.BaseObject)
	if err != nil {
		return SearchResult{}, err
	}
	var r *searchRun
	if sc != nil {
		r = &sc.run
	} else {
		r = new(searchRun)
	}
	*r = searchRun{t: t, ctx: ctx, id: id, p: p, req: req, sc: sc, fn: fn}
	defer func() { *r = searchRun{} }() // drop references held by a pooled run
	r.sel = t.newSelection(req.Attributes, req.TypesOnly)
	r.sizeLimit = t.cfg.SizeLimit
	if req.SizeLimit > 0 && (r.sizeLimit == 0 || int(req.SizeLimit) < r.sizeLimit) {
		r.sizeLimit = int(req.SizeLimit)
	}
	r.timeLimit = t.cfg.TimeLimit
	if req.TimeLimit > 0 && (r.timeLimit == 0 || time.Duration(req.TimeLimit)*time.Second < r.timeLimit) {
		r.timeLimit = time.Duration(req.TimeLimit) * time.Second
	}
	if r.timeLimit > 0 {
		r.deadline = t.now().Add(r.timeLimit)
	}
	if len(p.Cookie) == 8 {
		r.skip = int(binary.BigEndian.Uint64(p.Cookie))
	}
	if t.cfg.Access != nil {
		r.can = r.canSearch
	}
	// Computed operational attributes a filter may test.
	r.entryDNAt, r.subAt, r.hasSubAt = t.schema.Attribute("entryDN"), t.schema.Attribute("subschemaSubentry"), t.schema.Attribute("hasSubordinates")
	r.needHasSub = mentions(&req.Filter, t.schema, r.hasSubAt)
	r.needComputed = r.needHasSub || mayTest(&req.Filter, t.schema, r.entryDNAt) || mayTest(&req.Filter, t.schema, r.subAt)

	// The root DSE and the subschema entry.
	if d.IsRoot() && req.Scope == ldap.ScopeBaseObject {
		e, err := t.RootDSE(ctx)
		if err != nil {
			return r.res, err
		}
		err = pageDone(r.emit(e, nil, "", -1))
		return r.res, err
	}
	// As slapd: neither the root DSE nor the subschema entry has
	// subordinates to search; search a naming context instead.
	if d.IsRoot() || t.isSubschemaDN(norm) {
		if req.Scope == ldap.ScopeBaseObject {
			err := pageDone(r.emit(t.SubschemaEntry(), nil, norm, -1))
			return r.res, err
		}
		return r.res, &ldap.Error{Code: ldap.ResultNoSuchObject, Message: fmt.Sprintf("no entries below %q: search a naming context (see namingContexts in the root DSE)", req.BaseObject)}
	}
	var gen uint64
	if t.cache != nil {
		gen = t.cacheBegin(ctx)
	}
	if v, ok, err := t.virtualEntry(ctx, norm); err != nil {
		return r.res, err
	} else if ok {
		if err := t.concealBase(ctx, id, d, norm, req.BaseObject); err != nil {
			return r.res, err
		}
		// A provider's entry or a virtual parent as the base: only
		// virtual entries are below it.
		scope := store.DirSub
		switch req.Scope {
		case ldap.ScopeBaseObject:
			err := pageDone(r.emit(v.entry, nil, v.norm, -1))
			return r.res, err
		case ldap.ScopeSingleLevel:
			scope = store.DirOne
		case ldap.ScopeWholeSubtree:
			if err := r.emit(v.entry, nil, v.norm, -1); err != nil {
				return r.res, pageDone(err)
			}
		}
		if p, o, err := t.owner(ctx, norm); err != nil {
			return r.res, err
		} else if o.Owned {
			// A provider's subtree holds only the provider's entries.
			err := p.Search(ctx, norm, scope, &req.Filter, func(n string, e *Entry) error {
				if n == norm {
					return nil
				}
				return r.virtualEmit(e, n)
			})
			err = storeErr(pageDone(err))
			return r.res, err
		}
		err := storeErr(pageDone(t.searchVirtual(ctx, d, norm, scope, true, &req.Filter, r.virtualEmit)))
		return r.res, err
	}
	// Stored entries with a provider's DN are hidden: the provider's
	// entry is the one (a hand-published CA entry is stale).
	r.hideProvided = len(t.cfg.Providers) > 0
	if !d.IsRoot() {
		// The base's slot is enough (its ID) unless aliases are followed:
		// decoding the entry would be wasted on every search.
		var x *cached
		var err error
		derefBase := req.DerefAliases == ldap.DerefFindingBaseObj || req.DerefAliases == ldap.DerefAlways
		switch {
		case t.cache != nil && !derefBase:
			var xs *slot
			if xs, err = t.cachedSlot(ctx, gen, norm); err == nil {
				x = &cached{id: xs.id, parent: xs.parent, dn: xs.dn, norm: xs.norm}
			}
		case t.cache != nil:
			x, err = t.cachedEntry(ctx, gen, norm, false)
		default:
			x, err = t.getEntry(ctx, norm)
		}
		if errors.Is(err, store.ErrNotFound) {
			return r.res, t.hideMissing(ctx, id, t.noSuchObject(ctx, func(n string) (*store.DirEntry, error) { return t.st.DirEntry(ctx, n) }, d, "base object"))
		}
		if err != nil {
			return r.res, storeErr(err)
		}
		if err := t.concealBase(ctx, id, d, norm, req.BaseObject); err != nil {
			return r.res, err
		}
		if derefBase {
			if x, err = t.derefAlias(ctx, x); err != nil {
				return r.res, err
			}
			norm = x.norm
		}
		r.base = x.id
	}
	if req.DerefAliases == ldap.DerefInSearching || req.DerefAliases == ldap.DerefAlways {
		// Alias entries found in the scope stand for their targets (the
		// target itself, not its subtree), each returned once.
		r.seen = map[string]bool{}
	}
	base := r.base
	keys := t.indexFor(&req.Filter, r.keyBuf[:0])
	var scope store.DirScope
	switch req.Scope {
	case ldap.ScopeBaseObject:
		scope = store.DirBase
	case ldap.ScopeSingleLevel:
		scope = store.DirOne
	case ldap.ScopeWholeSubtree, ldap.ScopeChildren:
		scope = store.DirSub
	default:
		return r.res, ldap.Errorf(ldap.ResultProtocolError, "unknown search scope %d", req.Scope)
	}
	children := req.Scope == ldap.ScopeChildren
	if len(keys) > 1 {
		r.found = map[int64]bool{}
	}
	if keys != nil && t.cache != nil {
		for _, key := range keys {
			err = t.indexedEntries(ctx, gen, key, sc, func(x *cached) error {
				if !store.InScope(x.norm, x.parent, base, norm, scope) || (children && x.id == base) || r.foundBefore(x.id) {
					return nil
				}
				if err := r.check(); err != nil {
					return err
				}
				return r.emit(x.entry, x.attrs, x.norm, x.id)
			})
			if err != nil {
				break
			}
		}
		if err == nil {
			err = t.searchVirtual(ctx, d, norm, scope, children, &req.Filter, r.virtualEmit)
		}
		err = storeErr(pageDone(err))
		return r.res, err
	}
	emit := func(se *store.DirEntry) error {
		if err := r.check(); err != nil {
			return err
		}
		if children && se.ID == base || r.foundBefore(se.ID) {
			return nil
		}
		x, _, err := t.fromStore(se, true)
		if err != nil {
			return err
		}
		return r.emit(x.entry, x.attrs, se.NormDN, se.ID)
	}
	q := store.DirQuery{Base: base, BaseDN: norm, Scope: scope}
	if keys == nil {
		err = t.st.DirSearch(ctx, q, emit)
	}
	for i := range keys {
		q.Index = &keys[i]
		if err = t.st.DirSearch(ctx, q, emit); err != nil {
			break
		}
	}
	if err == nil {
		err = t.searchVirtual(ctx, d, norm, scope, children, &req.Filter, r.virtualEmit)
	}
	err = storeErr(pageDone(err))
	return r.res, err
}

// searchRun is one search in progress: its parameters and counters, and
// the steps each entry found goes through (emit). One value instead of a
// closure per step saves a search about ten allocations.
type searchRun struct {
	t   *Tree
	ctx context.Context
	id  Identity
	p   SearchParams
	req *ldap.SearchRequest
	sc  *searchScratch // nil unless transient
	fn  func(*Entry) error

	sel           *selection
	sizeLimit     int
	timeLimit     time.Duration
	deadline      time.Time
	skip, matched int
	res           SearchResult

	can     readable // nil without access control
	canNorm string   // the DN can decides for

	entryDNAt, subAt, hasSubAt *AttributeType
	needHasSub, needComputed   bool

	hideProvided bool            // stored entries with a provider's DN are left out
	base         int64           // the base entry's ID (0: the root)
	seen         map[string]bool // derefAliases in searching: entries sent
	// keyBuf holds the index key of a search on one key (indexFor); found
	// the IDs of entries found through the index when it looks up several
	// keys, which an entry may hold more than one of.
	keyBuf [1]store.DirIndexKey
	found  map[int64]bool
}

// canSearch is the filter's access check: may the caller search at on
// the entry being evaluated.
func (r *searchRun) canSearch(at *AttributeType) bool {
	return r.t.allowed(r.ctx, r.id, RightSearch, r.canNorm, at)
}

// foundBefore reports whether an index lookup of several keys already
// found the entry with that ID (and notes it found otherwise).
func (r *searchRun) foundBefore(id int64) bool {
	if r.found == nil {
		return false
	}
	if r.found[id] {
		return true
	}
	r.found[id] = true
	return false
}

// check ends the search when its context ends or its time is up.
func (r *searchRun) check() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if !r.deadline.IsZero() && r.t.now().After(r.deadline) {
		return ldap.Errorf(ldap.ResultTimeLimitExceeded, "time limit of %s exceeded", r.timeLimit)
	}
	return nil
}

// virtualEmit emits a provider's or virtual entry found in the scope.
func (r *searchRun) virtualEmit(e *Entry, n string) error {
	if err := r.check(); err != nil {
		return err
	}
	return r.emit(e, nil, n, -1)
}

// emit takes one entry found in the scope (attrs: its attributes
// resolved, nil to resolve them here; id64 < 0 for an entry not stored):
// it follows an alias when aliases are dereferenced in searching, leaves
// out what a provider owns, evaluates the filter and sends the entry if
// it matches.
func (r *searchRun) emit(e *Entry, attrs []resolved, normDN string, id64 int64) error {
	t, ctx := r.t, r.ctx
	if r.seen != nil {
		if id64 >= 0 && id64 != r.base && t.isAlias(e) {
			x, err := t.derefAlias(ctx, &cached{id: id64, norm: normDN, dn: e.DN, entry: e})
			if err != nil {
				return err
			}
			e, attrs, normDN, id64 = x.entry, x.attrs, x.norm, x.id
		}
		if r.seen[normDN] {
			return nil
		}
		r.seen[normDN] = true
	}
	if r.hideProvided && id64 >= 0 {
		if _, o, err := t.owner(ctx, normDN); err != nil {
			return err
		} else if o.Owned {
			return nil
		}
	}
	if !t.allowedEntry(ctx, r.id, RightRead, e, normDN, nil) {
		return nil
	}
	var v *view
	if r.sc != nil {
		v = &r.sc.view
		*v = view{entry: e, attrs: attrs}
	} else {
		v = &view{entry: e, attrs: attrs}
	}
	if attrs == nil {
		v.attrs = t.resolve(e.Attributes)
	}
	// The computed attributes, only for a filter that may test them:
	// the common search needs none, and they cost allocations.
	if id64 >= 0 && r.needComputed {
		v.extra = append(v.extra, resolved{at: r.entryDNAt, vals: [][]byte{[]byte(e.DN)}}, resolved{at: r.subAt, vals: subschemaVals})
		if r.needHasSub {
			n, err := t.st.DirChildren(ctx, id64)
			if err != nil {
				return err
			}
			v.extra = append(v.extra, resolved{at: r.hasSubAt, vals: boolVals[n > 0]})
		}
	}
	r.canNorm = normDN
	if t.eval(&r.req.Filter, v, r.can) != True {
		return nil
	}
	r.matched++
	if r.matched <= r.skip {
		return nil
	}
	if r.sizeLimit > 0 && r.res.Entries >= r.sizeLimit {
		return ldap.Errorf(ldap.ResultSizeLimitExceeded, "size limit of %d entries exceeded", r.sizeLimit)
	}
	if r.p.PageSize > 0 && r.res.Entries >= r.p.PageSize {
		r.res.Cookie = binary.BigEndian.AppendUint64(nil, uint64(r.matched-1))
		return errPageFull
	}
	out := t.selectAttrs(ctx, r.id, v, r.sel, normDN, id64, r.sc)
	r.res.Entries++
	return r.fn(out)
}

var errPageFull = errors.New("page full")

// Values of computed attributes, shared by every search (read-only).
var (
	subschemaVals = [][]byte{[]byte(SubschemaDN)}
	boolVals      = map[bool][][]byte{true: {[]byte("TRUE")}, false: {[]byte("FALSE")}}
)

func pageDone(err error) error {
	if errors.Is(err, errPageFull) {
		return nil
	}
	return err
}

// indexFor picks the equality index rows the filter can use: those of
// the filter itself or of a conjunct of an AND being an equality on an
// indexed attribute (without subtypes, whose values the index would
// miss). The entries holding any of the rows are the candidates: an
// objectClass equality needs the rows of the class and of every subclass,
// since an entry's row names only the classes it lists (indexKeys). The
// keys are appended to buf[:0] (one key fits the caller's buffer without
// allocating); nil means no index applies.
func (t *Tree) indexFor(f *ldap.Filter, buf []store.DirIndexKey) []store.DirIndexKey {
	switch f.Type {
	case ldap.FilterEqualityMatch:
		d, _, err := t.schema.parseAttrDesc(f.Attr)
		if err != nil || d.at == nil || d.opts != "" || t.indexed[d.at] == "" || t.subtyped[d.at] {
			return nil
		}
		name := t.indexed[d.at]
		if d.at.OID == oidObjectClass {
			c := t.schema.Class(strings.TrimSpace(string(f.Value)))
			if c == nil || c.OID == oidTop { // top: every entry
				return nil
			}
			keys := buf[:0]
			for _, x := range t.subclasses[c] {
				keys = append(keys, store.DirIndexKey{Attr: name, Value: x.OID})
			}
			if len(keys) == 0 {
				return nil
			}
			return keys
		}
		n, ok := d.at.Equality.impl.norm(t.schema, f.Value)
		if !ok {
			return nil
		}
		return append(buf[:0], store.DirIndexKey{Attr: name, Value: n})
	case ldap.FilterAnd:
		// Prefer a key other than objectClass: it selects fewer entries;
		// among objectClass ones, fewer rows to look up. Each conjunct's
		// keys go to buf in turn, so the best is worked out again.
		best, bestClass, bestLen := -1, false, 0
		for i := range f.Children {
			k := t.indexFor(&f.Children[i], buf)
			if k == nil {
				continue
			}
			class := k[0].Attr == "objectclass"
			if best < 0 || bestClass && (!class || len(k) < bestLen) {
				best, bestClass, bestLen = i, class, len(k)
			}
		}
		if best < 0 {
			return nil
		}
		return t.indexFor(&f.Children[best], buf)
	}
	return nil
}

// selection is a parsed AttributeSelection (RFC 4511 §4.5.1.8, RFC 3673,
// RFC 4529).
type selection struct {
	allUser, allOp, typesOnly bool
	types                     map[*AttributeType]bool // requested, subtypes match
	anyComputed               bool                    // wants one Search computes (selectAttrs)
}

// computedNames are the attributes selectAttrs computes rather than reads.
var computedNames = [...]string{"entryDN", "subschemaSubentry", "hasSubordinates", "aclSource", "ownerSource"}

// maxSelMemo bounds the memo of parsed attribute selections: clients ask
// for a few lists over and over, but could name any.
const maxSelMemo = 1024

type selKey struct {
	attrs     string // the list joined with NUL
	typesOnly bool
}

// newSelection returns the parsed selection of attrs, through a memo (a
// selection is read-only once built, and the schema never changes).
func (t *Tree) newSelection(attrs []string, typesOnly bool) *selection {
	var k selKey
	switch len(attrs) {
	case 0:
		k = selKey{"", typesOnly}
	case 1:
		k = selKey{attrs[0], typesOnly}
		if k.attrs == "" {
			return t.parseSelection(attrs, typesOnly) // not "" (no list)
		}
	default:
		k = selKey{strings.Join(attrs, "\x00"), typesOnly}
	}
	if len(attrs) > 0 && strings.Count(k.attrs, "\x00") != len(attrs)-1 {
		// A name holding NUL would share its key with another list.
		return t.parseSelection(attrs, typesOnly)
	}
	if v, ok := t.sels.Load(k); ok {
		return v.(*selection)
	}
	s := t.parseSelection(attrs, typesOnly)
	if t.nsels.Add(1) <= maxSelMemo {
		t.sels.Store(k, s)
	}
	return s
}

func (t *Tree) parseSelection(attrs []string, typesOnly bool) *selection {
	s := &selection{types: map[*AttributeType]bool{}, typesOnly: typesOnly}
	if len(attrs) == 0 {
		s.allUser = true
	}
	for _, a := range attrs {
		switch {
		case a == "*":
			s.allUser = true
		case a == "+":
			s.allOp = true
		case a == "1.1":
		case strings.HasPrefix(a, "@"):
			if c := t.schema.Class(a[1:]); c != nil {
				all := map[*ObjectClass]bool{}
				c.superclasses(all)
				for x := range all {
					for _, at := range append(append([]*AttributeType{}, x.Must...), x.May...) {
						s.types[at] = true
					}
				}
			}
		default:
			if d, _, err := t.schema.parseAttrDesc(a); err == nil && d.at != nil {
				s.types[d.at] = true
			}
		}
	}
	for _, n := range computedNames {
		if at := t.schema.Attribute(n); at != nil && s.wants(at) {
			s.anyComputed = true
		}
	}
	return s
}

func (s *selection) wants(at *AttributeType) bool {
	if at.Operational() {
		if s.allOp {
			return true
		}
	} else if s.allUser {
		return true
	}
	for x := at; x != nil; x = x.Sup {
		if s.types[x] {
			return true
		}
	}
	return false
}

// selectAttrs builds the entry to return: the selected stored attributes
// and the computed operational ones (entryDN, subschemaSubentry,
// hasSubordinates). With sc the entry lives in sc's buffers (transient).
func (t *Tree) selectAttrs(ctx context.Context, id Identity, v *view, sel *selection, normDN string, entryID int64, sc *searchScratch) *Entry {
	var out *Entry
	if sc != nil {
		out = &sc.out
		*out = Entry{DN: v.entry.DN, Attributes: grow(sc.outAttrs, len(v.attrs)+3)}
		defer func() { sc.outAttrs = out.Attributes }()
	} else {
		out = &Entry{DN: v.entry.DN, Attributes: make([]Attribute, 0, len(v.attrs)+3)}
	}
	readable := func(at *AttributeType) bool {
		return t.cfg.Access == nil || t.allowed(ctx, id, RightRead, normDN, at)
	}
	add := func(at *AttributeType, opts string, vals [][]byte) {
		name := at.Name()
		if opts != "" {
			name += opts
		}
		if at.Syntax != nil && at.Syntax.Binary {
			name += ";binary"
		}
		if sel.typesOnly {
			vals = nil
		}
		out.Attributes = append(out.Attributes, Attribute{Type: name, Values: vals})
	}
	for _, a := range v.attrs {
		if a.at == nil || (entryID >= 0 && a.computed()) || !sel.wants(a.at) || !readable(a.at) {
			continue
		}
		add(a.at, a.opts, a.vals)
	}

	if entryID < 0 {
		return out // root DSE, subschema: nothing computed
	}
	if !sel.anyComputed {
		return out // none of the computed attributes is asked for
	}
	computed := []struct {
		name string
		val  func() string
	}{
		{"entryDN", func() string { return v.entry.DN }},
		{"subschemaSubentry", func() string { return SubschemaDN }},
		{"hasSubordinates", func() string {
			n, err := t.st.DirChildren(ctx, entryID)
			if err == nil && n > 0 {
				return "TRUE"
			}
			return "FALSE"
		}},
	}
	for _, c := range computed {
		at := t.schema.Attribute(c.name)
		if sel.wants(at) && readable(at) {
			add(at, "", [][]byte{[]byte(c.val())})
		}
	}
	if sr, ok := t.cfg.Access.(SourceReporter); ok {
		aclAt, ownerAt := t.schema.Attribute("aclSource"), t.schema.Attribute("ownerSource")
		wantACL := aclAt != nil && sel.wants(aclAt) && readable(aclAt)
		wantOwner := ownerAt != nil && sel.wants(ownerAt) && readable(ownerAt)
		if wantACL || wantOwner {
			if a, o, err := sr.Sources(ctx, normDN); err == nil {
				if wantACL && a != "" {
					add(aclAt, "", [][]byte{[]byte(a)})
				}
				if wantOwner && o != "" {
					add(ownerAt, "", [][]byte{[]byte(o)})
				}
			}
		}
	}
	return out
}

// mayTest reports whether filter f may test attribute type at: an item
// on at or a supertype of it (whose values include at's), or an
// extensible match without a type (which tests every attribute).
func mayTest(f *ldap.Filter, s *Schema, at *AttributeType) bool {
	switch f.Type {
	case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
		for i := range f.Children {
			if mayTest(&f.Children[i], s, at) {
				return true
			}
		}
		return false
	}
	if f.Attr == "" {
		return f.Type == ldap.FilterExtensibleMatch
	}
	d, _, err := s.parseAttrDesc(f.Attr)
	return err == nil && d.at != nil && at != nil && at.isSubtypeOf(d.at)
}

// mentions reports whether filter f tests attribute type at.
func mentions(f *ldap.Filter, s *Schema, at *AttributeType) bool {
	if f.Attr != "" {
		if d, _, err := s.parseAttrDesc(f.Attr); err == nil && d.at == at {
			return true
		}
	}
	for i := range f.Children {
		if mentions(&f.Children[i], s, at) {
			return true
		}
	}
	return false
}

// isAlias reports whether e is an alias entry (RFC 4512 §2.6).
func (t *Tree) isAlias(e *Entry) bool {
	alias := t.schema.Class("alias")
	for _, v := range e.Get("objectClass") {
		if c := t.schema.Class(string(v)); c != nil && c.isA(alias) {
			return true
		}
	}
	return false
}

// derefAlias follows aliasedObjectName from x until an entry that is not
// an alias: aliasProblem when an alias names no entry or the chain loops
// (more than 8 hops).
func (t *Tree) derefAlias(ctx context.Context, x *cached) (*cached, error) {
	for hops := 0; t.isAlias(x.entry); hops++ {
		if hops == 8 {
			return nil, &ldap.Error{Code: ldap.ResultAliasProblem, MatchedDN: x.dn, Message: "alias chain longer than 8 entries (a loop?)"}
		}
		target := x.entry.GetString("aliasedObjectName")
		n, err := NormalizeDN(t.schema, target)
		if err != nil {
			return nil, &ldap.Error{Code: ldap.ResultAliasDereferencingProblem, MatchedDN: x.dn, Message: fmt.Sprintf("alias %q names an invalid DN", x.dn)}
		}
		next, err := t.getEntry(ctx, n)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &ldap.Error{Code: ldap.ResultAliasProblem, MatchedDN: x.dn, Message: fmt.Sprintf("alias %q names %q, which does not exist", x.dn, target)}
		}
		if err != nil {
			return nil, storeErr(err)
		}
		x = next
	}
	return x, nil
}

// concealBase answers noSuchObject for a search base the caller may
// neither read nor discover (Concealer): its existence is secret.
func (t *Tree) concealBase(ctx context.Context, id Identity, d DN, norm, base string) error {
	c, ok := t.cfg.Access.(Concealer)
	if !ok || t.allowed(ctx, id, RightRead, norm, nil) {
		return nil
	}
	if secret, m := c.Conceal(ctx, id, norm, t.matchedOf(ctx, d)); secret {
		return &ldap.Error{Code: ldap.ResultNoSuchObject, MatchedDN: m, Message: fmt.Sprintf("base object %q does not exist", base)}
	}
	return nil
}

// searchScratch holds the buffers a transient search (search with sc)
// reuses from entry to entry; a pool keeps them from search to search.
type searchScratch struct {
	exp      expanded
	attrs    []Attribute
	vals     [][]byte
	res      []resolved
	slots    []*slot
	view     view
	out      Entry
	outAttrs []Attribute
	wire     ldap.SearchResultEntry // LDAPBackend's
	run      searchRun
}

var scratchPool = sync.Pool{New: func() any { return new(searchScratch) }}

// maxScratch bounds the buffers a pooled scratch keeps: an entry with
// thousands of values should not pin them for every later search.
const maxScratch = 1024

func getScratch() *searchScratch { return scratchPool.Get().(*searchScratch) }

// putScratch returns sc to the pool, dropping what pointed into entries.
func putScratch(sc *searchScratch) {
	if cap(sc.vals) > maxScratch || cap(sc.attrs) > maxScratch || cap(sc.res) > maxScratch ||
		cap(sc.outAttrs) > maxScratch || cap(sc.slots) > maxScratch {
		return
	}
	clear(sc.attrs[:cap(sc.attrs)])
	clear(sc.vals[:cap(sc.vals)])
	clear(sc.res[:cap(sc.res)])
	clear(sc.outAttrs[:cap(sc.outAttrs)])
	if cap(sc.wire.Attributes) > maxScratch {
		sc.wire.Attributes = nil
	}
	clear(sc.wire.Attributes[:cap(sc.wire.Attributes)])
	sc.exp, sc.view, sc.out, sc.wire = expanded{}, view{}, Entry{}, ldap.SearchResultEntry{Attributes: sc.wire.Attributes[:0]}
	scratchPool.Put(sc)
}
