package directory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// DefaultIndexed are the attributes with an equality index unless
// Config.Indexed says otherwise.
var DefaultIndexed = []string{"objectClass", "uid", "cn", "mail", "member", "memberUid"}

// SubschemaDN is the DN of the subschema entry (RFC 4512 §4.2).
const SubschemaDN = "cn=Subschema"

// Config configures a Tree. The zero value of every field but Store is a
// working default.
type Config struct {
	// Store holds the entries; it must implement store.DirectoryStore.
	Store store.Store
	// Schema checks and matches entries; nil means DefaultSchema().
	Schema *Schema
	// Suffixes are the naming contexts an Add may create (an entry whose
	// parent does not exist). Entries already stored without a parent are
	// naming contexts too.
	Suffixes []string
	// Indexed names the attributes with an equality index; nil means
	// DefaultIndexed. Changing it applies to entries written afterwards.
	Indexed []string
	// SizeLimit and TimeLimit are the server's search limits (0: none); a
	// client's smaller limit applies.
	SizeLimit int
	TimeLimit time.Duration
	// RootDSE describes what the frontend implements, for the root DSE.
	RootDSE RootDSEConfig
	// Access decides what an identity may do (issue 6). nil allows all.
	Access AccessControl
	// CheckValue, when set, vets each value written by Add, Modify,
	// ModifyDN or Import after its syntax check (attr is the type's
	// canonical name); an error refuses the write with
	// invalidAttributeSyntax and err.Error() as the message. Access control
	// uses it for aclEntry and entryOwner values.
	CheckValue func(attr string, value []byte) error
	// Changed, when set, is called after each committed Add, Modify,
	// Delete or ModifyDN with the entry's normalised DN and the names of
	// the attribute types written (nil for Delete and ModifyDN, which
	// move or remove everything), and with ("", nil) when the read cache
	// sees, in the change feed, a directory or CA change it did not make
	// (another process wrote; certificate, revocation and CRL records do
	// not count).
	// Access control drops cached decisions. It must not block.
	Changed func(normDN string, attrs []string)
	// Providers supply read-only virtual entries (the live CA entries and
	// the CA database view: NewPKI) merged with the stored ones; see
	// Provider.
	Providers []Provider
	// CacheBytes is the read cache's budget of decoded entries and index
	// lookups, in approximate bytes of memory (0: DefaultCacheBytes;
	// negative: no cache). CacheEntries, when positive, also bounds the
	// number of cached entries; negative disables the cache too.
	// CacheMaxAge bounds how late another process's change is seen (0:
	// DefaultCacheMaxAge).
	CacheBytes   int64
	CacheEntries int
	CacheMaxAge  time.Duration
	// Now and Rand are injected for tests; defaults time.Now, crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Identity is the caller of an operation: the DN it bound as ("" for
// anonymous) and how it authenticated.
type Identity struct {
	DN        string // as bound; "" = anonymous
	Mechanism string // "SIMPLE", "EXTERNAL", or "" for anonymous
}

// Anonymous reports whether the identity has not authenticated.
func (id Identity) Anonymous() bool { return id.DN == "" }

// Right is what an operation needs on an entry or attribute.
type Right uint8

// Rights checked through AccessControl.
const (
	RightRead    Right = iota // return an entry or attribute in search results
	RightSearch               // use an attribute in a filter
	RightCompare              // compare an attribute's value
	RightWrite                // add, delete or replace an attribute's values
	RightAdd                  // create an entry
	RightDelete               // delete an entry
	RightRename               // rename or move an entry
)

// AccessControl is the seam for access control: Allowed reports whether id
// holds right on the entry named by entryDN (normalised), for the attribute
// at (nil for the entry as a whole). Issue 6 implements it with aclEntry.
type AccessControl interface {
	Allowed(ctx context.Context, id Identity, right Right, entryDN string, at *AttributeType) bool
}

// EntryAccessControl is optionally implemented by an AccessControl that
// can decide from the entry in hand: search has just read the entry, so
// the access control need not read it again for the access-control
// attributes it carries. AllowedEntry must answer exactly as Allowed would
// for e's normalised DN normDN.
type EntryAccessControl interface {
	AllowedEntry(ctx context.Context, id Identity, right Right, e *Entry, normDN string, at *AttributeType) bool
}

// Concealer is optionally implemented by an AccessControl that keeps
// entries' existence secret: Conceal reports whether a refused operation on
// entryDN (normalised) must answer noSuchObject rather than
// insufficientAccessRights, and the matchedDN to report in place of
// matched (the nearest existing ancestor), so that no result names an
// entry the caller may not know of.
type Concealer interface {
	Conceal(ctx context.Context, id Identity, entryDN, matched string) (secret bool, matchedDN string)
}

// SourceReporter is optionally implemented by an AccessControl that can
// name the entries an entry's access control comes from: search returns
// them as the computed operational attributes aclSource and ownerSource
// (requested by name or with '+'), "" meaning none.
type SourceReporter interface {
	Sources(ctx context.Context, entryDN string) (aclSource, ownerSource string, err error)
}

// Tree is the directory information tree over a store: it runs LDAP
// operations with their RFC 4511 semantics, schema checks and result
// codes. It is safe for concurrent use.
type Tree struct {
	cfg      Config
	st       store.DirectoryStore
	schema   *Schema
	indexed  map[*AttributeType]string // indexed types → name of their index rows (lower-case)
	subtyped map[*AttributeType]bool   // types other types inherit from: their index misses subtypes
	// subclasses lists, for each object class, itself and every class
	// below it, in schema order: the index rows an objectClass equality
	// looks up (indexFor).
	subclasses map[*ObjectClass][]*ObjectClass
	suffixes   map[string]bool
	now        func() time.Time
	rand       io.Reader
	cache      *readCache
	subNorm    string // the subschema entry's normalised DN
	vparents   vparentCache

	// Memos of attribute descriptions, interned type names and parsed
	// DNs (cache.go).
	descs, types, dns, shapes, sels      sync.Map
	ndescs, ntypes, ndns, nshapes, nsels atomic.Int64
	descMu                               sync.RWMutex
	descIdx                              map[string]uint16
	descTab                              atomic.Pointer[[]descEntry]

	// classSets memoises checkEntry's view of each combination of object
	// classes (classSet).
	classSets  sync.Map
	nclassSets atomic.Int64
}

// New returns a Tree over cfg.Store.
func New(cfg Config) (*Tree, error) {
	ds, ok := cfg.Store.(store.DirectoryStore)
	if !ok {
		return nil, fmt.Errorf("directory: store %T does not implement store.DirectoryStore", cfg.Store)
	}
	t := &Tree{cfg: cfg, st: ds, schema: cfg.Schema, indexed: map[*AttributeType]string{}, subtyped: map[*AttributeType]bool{}, suffixes: map[string]bool{}, now: cfg.Now, rand: cfg.Rand}
	if t.schema == nil {
		t.schema = DefaultSchema()
	}
	t.subNorm, _ = NormalizeDN(t.schema, SubschemaDN)
	if t.now == nil {
		t.now = time.Now
	}
	if t.rand == nil {
		t.rand = rand.Reader
	}
	if cfg.CacheEntries >= 0 && cfg.CacheBytes >= 0 {
		t.cache = newReadCache(cfg.CacheBytes, cfg.CacheEntries, cfg.CacheMaxAge)
	}
	idx := cfg.Indexed
	if idx == nil {
		idx = DefaultIndexed
	}
	for _, n := range idx {
		at := t.schema.Attribute(n)
		if at == nil {
			return nil, fmt.Errorf("directory: indexed attribute %q is not in the schema", n)
		}
		if at.Equality == nil || at.Equality.impl == nil {
			return nil, fmt.Errorf("directory: indexed attribute %q has no equality rule pkid implements", n)
		}
		t.indexed[at] = strings.ToLower(at.Name())
	}
	for _, at := range t.schema.Attributes {
		if at.Sup != nil {
			t.subtyped[at.Sup] = true
		}
	}
	t.subclasses = map[*ObjectClass][]*ObjectClass{}
	for _, c := range t.schema.Classes {
		sup := map[*ObjectClass]bool{}
		c.superclasses(sup)
		for p := range sup {
			t.subclasses[p] = append(t.subclasses[p], c)
		}
	}
	for _, s := range cfg.Suffixes {
		n, err := NormalizeDN(t.schema, s)
		if err != nil {
			return nil, fmt.Errorf("directory: suffix %q: %w", s, err)
		}
		t.suffixes[n] = true
	}
	return t, nil
}

// Schema returns the tree's schema.
func (t *Tree) Schema() *Schema { return t.schema }

func (t *Tree) allowed(ctx context.Context, id Identity, r Right, normDN string, at *AttributeType) bool {
	return t.cfg.Access == nil || t.cfg.Access.Allowed(ctx, id, r, normDN, at)
}

// allowedEntry is allowed for an entry in hand (EntryAccessControl).
func (t *Tree) allowedEntry(ctx context.Context, id Identity, r Right, e *Entry, normDN string, at *AttributeType) bool {
	if ea, ok := t.cfg.Access.(EntryAccessControl); ok {
		return ea.AllowedEntry(ctx, id, r, e, normDN, at)
	}
	return t.allowed(ctx, id, r, normDN, at)
}

func (t *Tree) changed(normDN string, attrs []string) {
	if t.cfg.Changed != nil {
		t.cfg.Changed(normDN, attrs)
	}
}

// refuse answers a refused operation on normDN: insufficientAccessRights
// with msg, or noSuchObject when the AccessControl keeps the entry's
// existence secret (Concealer).
func (t *Tree) refuse(ctx context.Context, id Identity, d DN, normDN, msg string) error {
	if c, ok := t.cfg.Access.(Concealer); ok {
		if secret, matched := c.Conceal(ctx, id, normDN, t.matchedOf(ctx, d)); secret {
			return &ldap.Error{Code: ldap.ResultNoSuchObject, MatchedDN: matched, Message: fmt.Sprintf("entry %q does not exist", d.String())}
		}
	}
	return ldap.Errorf(ldap.ResultInsufficientAccessRights, "%s", msg)
}

// hideMissing rewrites a noSuchObject error's matchedDN so that it names
// only entries the caller may discover (Concealer).
func (t *Tree) hideMissing(ctx context.Context, id Identity, err error) error {
	c, ok := t.cfg.Access.(Concealer)
	var le *ldap.Error
	if !ok || !errors.As(err, &le) || le.Code != ldap.ResultNoSuchObject || le.MatchedDN == "" {
		return err
	}
	d, err2 := ParseDN(le.MatchedDN)
	if err2 != nil {
		return err
	}
	n := d.Normalize(t.schema)
	_, m := c.Conceal(ctx, id, n, n)
	return &ldap.Error{Code: le.Code, MatchedDN: m, Message: le.Message}
}

// matchedOf is the normalised DN of d's nearest existing ancestor ("" if none).
func (t *Tree) matchedOf(ctx context.Context, d DN) string {
	for p := d.Parent(); len(p) > 0; p = p.Parent() {
		n := p.Normalize(t.schema)
		if _, err := t.st.DirEntry(ctx, n); err == nil {
			return n
		}
	}
	return ""
}

// parseDN parses and normalises a DN from a request; invalidDNSyntax when
// it does not parse.
func (t *Tree) parseDN(s string) (DN, string, error) {
	d, err := ParseDN(s)
	if err != nil {
		return nil, "", ldap.Errorf(ldap.ResultInvalidDNSyntax, "invalid DN: %v", err)
	}
	for _, rdn := range d {
		for _, ava := range rdn {
			if t.schema.Attribute(ava.Type) == nil {
				return nil, "", ldap.Errorf(ldap.ResultInvalidDNSyntax, "invalid DN %q: attribute type %q is not in the schema", s, ava.Type)
			}
		}
	}
	return d, d.Normalize(t.schema), nil
}

// noSuchObject builds the noSuchObject error naming the nearest existing
// ancestor of d as matchedDN (RFC 4511 §4.1.9).
func (t *Tree) noSuchObject(ctx context.Context, get func(string) (*store.DirEntry, error), d DN, what string) error {
	matched := ""
	for p := d.Parent(); len(p) > 0; p = p.Parent() {
		if e, err := get(p.Normalize(t.schema)); err == nil {
			matched = e.DN
			break
		}
	}
	return &ldap.Error{Code: ldap.ResultNoSuchObject, MatchedDN: matched, Message: fmt.Sprintf("%s %q does not exist", what, d.String())}
}

// storeErr turns a store failure into operationsError (other) unless it is
// already an LDAP error.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		return le
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &ldap.Error{Code: ldap.ResultOther, Message: "directory store: " + err.Error()}
}

// decode reads a stored entry.
func decode(e *store.DirEntry) (*Entry, error) {
	attrs, err := decodeAttributes(e.Data)
	if err != nil {
		return nil, fmt.Errorf("entry %q: %w", e.DN, err)
	}
	return &Entry{DN: e.DN, Attributes: attrs}, nil
}

// indexKeys returns the equality index rows of an entry's attributes. An
// objectClass value gets one row, the class's OID, not one per
// superclass: an import then writes two rows fewer per inetOrgPerson, and
// a search for a superclass looks up the rows of its subclasses instead
// (indexFor). Stores written before hold superclass rows too, which such a
// search finds as well, once per entry.
func (t *Tree) indexKeys(attrs []Attribute) []store.DirIndexKey {
	var keys []store.DirIndexKey
	for _, a := range attrs {
		d, ok := t.attrDesc(a.Type)
		if !ok || d.at == nil || t.indexed[d.at] == "" {
			continue
		}
		name := t.indexed[d.at]
		for _, v := range a.Values {
			if d.at.OID == oidObjectClass {
				if c := t.schema.Class(string(v)); c != nil {
					if c.OID != oidTop { // every entry; never looked up
						keys = append(keys, store.DirIndexKey{Attr: name, Value: c.OID})
					}
					continue
				}
			}
			if n, ok := d.at.Equality.impl.norm(t.schema, v); ok {
				keys = append(keys, store.DirIndexKey{Attr: name, Value: n})
			}
		}
	}
	return keys
}

// generalizedTime formats a time as slapd writes createTimestamp.
func generalizedTime(tm time.Time) string { return tm.UTC().Format("20060102150405Z") }

func (t *Tree) newUUID() string {
	var b [16]byte
	io.ReadFull(t.rand, b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// setAttr replaces (or appends) attribute name's values.
func setAttr(attrs []Attribute, s *Schema, name string, vals ...string) []Attribute {
	at := s.Attribute(name)
	bv := make([][]byte, len(vals))
	for i, v := range vals {
		bv[i] = []byte(v)
	}
	for i, a := range attrs {
		if d, _, err := s.parseAttrDesc(a.Type); err == nil && d.at == at && d.opts == "" {
			attrs[i].Values = bv
			return attrs
		}
	}
	return append(attrs, Attribute{Type: name, Values: bv})
}
