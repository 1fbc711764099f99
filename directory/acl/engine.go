package acl

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pkid/pkid/dn"
)

// Attributes are the access-control attributes stored at one entry, as the
// directory holds them (values unparsed). The zero value is an entry
// without any, or no entry at all.
type Attributes struct {
	ACLEntry       []string
	ACLPropagate   string // "" when absent (TRUE is the default)
	EntryOwner     []string
	OwnerPropagate string // "" when absent (TRUE is the default)
	// Public reports that the entry is readable without a grant, as
	// Config.Public would; a Lookup that reads the entry anyway can say
	// so here and spare the Engine a second read of it.
	Public bool
}

// Config configures an Engine. Only Lookup is required; every other
// field's zero value is a safe default.
type Config struct {
	// Lookup returns the access-control attributes stored at the entry
	// with the normalised DN normDN (the zero Attributes when there is no
	// such entry). Required.
	Lookup func(ctx context.Context, normDN string) (Attributes, error)
	// Members returns the members of the group or role entry groupDN: its
	// member and uniqueMember values (an optional "#'...'B" UID suffix is
	// ignored), or roleOccupant for a role. nil: groups have no members.
	Members func(ctx context.Context, groupDN string) ([]string, error)
	// Normalize returns the comparison form of a DN; the directory passes
	// its schema-aware normaliser so that the caller's DN, subjects in
	// aclEntry values and entry DNs compare alike. nil means dn.Normalize,
	// falling back to lower-casing for types package dn does not know.
	Normalize func(string) (string, error)
	// Classes sorts attribute types into access classes; nil means
	// DefaultClasses().
	Classes Classes
	// Administrators are DNs with full access everywhere, like z/OS LDAP's
	// adminDN (pkid's bootstrap admin). They need no entryOwner.
	Administrators []string
	// Public reports whether an entry is readable without a grant: read,
	// search and compare on its normal and system attributes for every
	// caller, anonymous included (the root DSE, the subschema entry, the
	// CA/CRL entries). Deny clauses that apply still win. nil: none
	// beyond those whose Lookup sets Attributes.Public.
	Public func(normDN string) bool
	// CacheSize bounds the decision cache (entries); 0 means 65536.
	CacheSize int
}

// Engine decides access. It is safe for concurrent use.
type Engine struct {
	cfg     Config
	classes Classes
	admins  map[string]bool
	gen     atomic.Uint64
	mu      sync.RWMutex
	cache   map[cacheKey]cached
	nodes   map[string]*node           // parsed ACLs per normalised DN, for gen
	groups  map[string]map[string]bool // members per normalised group DN, for gen
	cgen    uint64                     // generation the maps belong to
	// norms memoises normalize: a DN's comparison form depends on the
	// schema only, not on the tree, so it outlives generations; after an
	// Invalidate the members of groups and the subjects of ACLs are
	// re-read but not parsed again.
	normMu sync.RWMutex
	norms  map[string]string
	// recent holds the two most recent answers of effective, newest
	// first: a search asks about its base and then about each entry it
	// finds once per attribute, and this spares most of those questions
	// the lock and the map. Each answer is immutable; a race between
	// two updates can only lose one, which the map still holds.
	recent [2]atomic.Pointer[lastEffective]
}

type cacheKey struct{ caller, entry string }

type lastEffective struct {
	key cacheKey
	gen uint64
	eff effective
}

type cached struct {
	gen uint64
	eff effective
}

// node is the parsed access-control attributes of one entry.
type node struct {
	acl       []compiled
	hasACL    bool
	aclProp   bool
	owners    []compiledSubject
	hasOwner  bool
	ownerProp bool
	public    bool
	err       error
}

type compiledSubject struct {
	typ    SubjectType
	pseudo Pseudo
	dn     string // normalised
}

type compiled struct {
	subj  compiledSubject
	grant Rights
	deny  Rights
}

// effective is what one caller may do at one entry.
type effective struct {
	rights    Rights
	denied    Rights // what deny clauses took away (for Decision.Rule)
	public    Rights // what only the Public policy granted (for Decision.Rule)
	rule      Rule
	aclSource string
	err       error
}

// New returns an Engine for cfg.
func New(cfg Config) (*Engine, error) {
	if cfg.Lookup == nil {
		return nil, fmt.Errorf("acl: Config.Lookup is required")
	}
	e := &Engine{cfg: cfg, classes: cfg.Classes, admins: map[string]bool{}}
	if e.classes == nil {
		e.classes = DefaultClasses()
	}
	if e.cfg.CacheSize <= 0 {
		e.cfg.CacheSize = 65536
	}
	for _, a := range cfg.Administrators {
		n, err := e.normalize(a)
		if err != nil {
			return nil, fmt.Errorf("acl: administrator %q: %w", a, err)
		}
		e.admins[n] = true
	}
	e.reset(0)
	return e, nil
}

// Invalidate forgets every cached decision. The directory calls it after
// any write for which AffectsAccess reports true, after adding an entry
// that carries such attributes, and after any delete or rename (the ACL a
// subtree inherits may change).
func (e *Engine) Invalidate() { e.gen.Add(1) }

// Generation returns the current cache generation (it grows with each
// Invalidate).
func (e *Engine) Generation() uint64 { return e.gen.Load() }

func (e *Engine) reset(gen uint64) {
	e.cache = make(map[cacheKey]cached)
	e.nodes = make(map[string]*node)
	e.groups = make(map[string]map[string]bool)
	e.cgen = gen
}

// normalized is normalize through the memo (failures are not memoised).
func (e *Engine) normalized(s string) (string, error) {
	e.normMu.RLock()
	n, ok := e.norms[s]
	e.normMu.RUnlock()
	if ok {
		return n, nil
	}
	n, err := e.normalize(s)
	if err != nil {
		return "", err
	}
	e.normMu.Lock()
	if e.norms == nil || len(e.norms) >= e.cfg.CacheSize {
		e.norms = make(map[string]string)
	}
	e.norms[s] = n
	e.normMu.Unlock()
	return n, nil
}

// current prepares the caches (under e.mu held for writing) for storing
// something computed at generation gen, and reports whether to store it:
// results of an older generation are dropped.
func (e *Engine) current(gen uint64) bool {
	switch {
	case gen > e.cgen:
		e.reset(gen)
	case gen < e.cgen:
		return false
	}
	return true
}

func (e *Engine) normalize(s string) (string, error) {
	if e.cfg.Normalize != nil {
		return e.cfg.Normalize(s)
	}
	n, err := dn.Normalize(s)
	if err == nil {
		return n, nil
	}
	if cerr := checkDN(s); cerr != nil {
		return "", cerr
	}
	// Types package dn does not know (LDAP schema types): fold case and
	// blanks around separators, which is what caseIgnoreMatch values need.
	parts := splitUnescaped(s, ',')
	for i, p := range parts {
		avas := splitUnescaped(p, '+')
		for j, a := range avas {
			k := strings.IndexByte(a, '=')
			avas[j] = strings.ToLower(strings.TrimSpace(a[:k])) + "=" + strings.ToLower(strings.Join(strings.Fields(a[k+1:]), " "))
		}
		parts[i] = strings.Join(avas, "+")
	}
	return strings.Join(parts, ","), nil
}

// CheckValue is the package-level CheckValue plus a check that the
// subject DN of an aclEntry or entryOwner value normalises with
// Config.Normalize (the directory's schema), so that a value naming an
// attribute type the schema lacks is refused with invalidAttributeSyntax
// rather than stored and never matched. The error is a *SyntaxError.
func (e *Engine) CheckValue(attr, value string) error {
	if err := CheckValue(attr, value); err != nil {
		return err
	}
	base := attr
	if i := strings.IndexByte(base, ';'); i >= 0 {
		base = base[:i]
	}
	var s Subject
	switch strings.ToLower(base) {
	case "aclentry":
		p, _ := ParseACLEntry(value)
		s = p.Subject
	case "entryowner":
		s, _ = ParseOwner(value)
	default:
		return nil
	}
	if s.Pseudo() != NotPseudo {
		return nil
	}
	if _, err := e.normalize(s.DN); err != nil {
		return &SyntaxError{Attr: base, Value: value, Part: s.DN, Reason: "is not a DN this directory can match: " + err.Error()}
	}
	return nil
}

// Caller is who asks: the DN it bound as ("" for anonymous).
type Caller struct {
	DN string
}

// Anonymous reports whether the caller has not bound.
func (c Caller) Anonymous() bool { return c.DN == "" }

// Op is what a request wants to do.
type Op uint8

// Operations. OpRead with no Attribute asks whether the entry itself may
// be returned (read access to the normal class). OpAddChild is asked of
// the parent: Request.EntryDN names the entry below which the child would
// be added (IBM: "add (on parent)").
const (
	OpRead     Op = iota // r on the attribute's class
	OpWrite              // w on the attribute's class; restricted needs an owner
	OpSearch             // s: the attribute may appear in a filter
	OpCompare            // c
	OpAddChild           // object a, on the parent
	OpDelete             // object d, on the entry
)

var opNames = [...]string{"read", "write", "search", "compare", "add", "delete"}

// String names the operation.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// Request is one access question.
type Request struct {
	Caller    Caller
	EntryDN   string // normalised, as the directory stores it
	Op        Op
	Attribute string // attribute description for read/write/search/compare; "" = the entry
}

// Rule says why a decision came out as it did, for logs.
type Rule uint8

// Rules.
const (
	RuleNoACL      Rule = iota // no ACL applies to the entry: default deny
	RuleNotGranted             // an ACL applies but grants nothing that matches
	RuleGranted                // an aclEntry grant
	RuleDenied                 // an aclEntry deny clause
	RuleOwner                  // the caller owns the entry (entryOwner)
	RuleAdmin                  // the caller is an administrator
	RulePublic                 // the entry is publicly readable
	RuleOwnerOnly              // restricted attributes are written by owners only
	RuleError                  // looking up ACLs or groups failed: denied
)

var ruleNames = [...]string{"no ACL applies (default deny)", "not granted", "granted", "denied by a deny clause",
	"owner", "administrator", "public entry", "only an owner may change access-control attributes", "lookup failed (denied)"}

// String describes the rule.
func (r Rule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return "rule?"
}

// Decision is the answer to a Request.
type Decision struct {
	Allowed   bool
	Rule      Rule
	ACLSource string // the entry whose aclEntry values applied ("" if none)
	Err       error  // set with RuleError
}

// Decide answers req. Errors from Lookup or Members deny (Rule RuleError).
//
// The algorithm (IBM's "access determination" for the parts pkid has):
//  1. Administrators have full access.
//  2. Owners have full access: the entry's own entryOwner values, else the
//     nearest ancestor's whose ownerPropagate is not FALSE.
//  3. Writing a restricted attribute (aclEntry, entryOwner, ...) needs
//     ownership; ACL grants do not suffice.
//  4. The effective ACL is the entry's own aclEntry values, else the
//     nearest ancestor's whose aclPropagate is not FALSE (an ancestor with
//     aclPropagate FALSE is skipped: its ACL is for itself only). ACLs do
//     not accumulate down the tree. No ACL: deny (unless Public).
//  5. If an access-id value names the caller's DN, the caller gets the
//     union of those values and the CN=THIS values (when the caller is the
//     entry); group, role, CN=ANYBODY and CN=AUTHENTICATED values are then
//     ignored — IBM's "more specific ACL entry" rule. Otherwise the union
//     of CN=THIS and of every group, role and pseudo group the caller is in.
//  6. Within that set deny wins: the result is the granted permissions
//     minus the denied ones.
func (e *Engine) Decide(ctx context.Context, req Request) Decision {
	return e.decide(ctx, req, nil)
}

// DecideEntry is Decide for a request about an entry the directory has in
// hand (a search has just read it): own is the access-control attributes
// that entry carries, as Lookup would return them for req.EntryDN, so the
// Engine need not look them up. The answer is the one Decide gives.
func (e *Engine) DecideEntry(ctx context.Context, req Request, own Attributes) Decision {
	return e.decide(ctx, req, &own)
}

func (e *Engine) decide(ctx context.Context, req Request, own *Attributes) Decision {
	eff := e.effective(ctx, req.Caller, req.EntryDN, own)
	d := Decision{Rule: eff.rule, ACLSource: eff.aclSource, Err: eff.err}
	if eff.rule == RuleError {
		return d
	}
	if eff.rule == RuleAdmin || eff.rule == RuleOwner {
		d.Allowed = true
		return d
	}
	var want, have, denied, public Perm
	switch req.Op {
	case OpAddChild:
		want, have, denied = Add, eff.rights.Object, eff.denied.Object
	case OpDelete:
		want, have, denied = Delete, eff.rights.Object, eff.denied.Object
	default:
		class := Normal
		if req.Attribute != "" {
			class = e.classes.Of(req.Attribute)
		}
		switch req.Op {
		case OpRead:
			want = Read
		case OpWrite:
			want = Write
			if class == Restricted {
				d.Rule = RuleOwnerOnly
				return d
			}
		case OpSearch:
			want = Search
		case OpCompare:
			want = Compare
		}
		have, denied, public = eff.rights.Class[class], eff.denied.Class[class], eff.public.Class[class]
	}
	switch {
	case public&want != 0:
		d.Allowed, d.Rule = true, RulePublic
	case have&want != 0:
		d.Allowed, d.Rule = true, RuleGranted
	case denied&want != 0:
		d.Rule = RuleDenied
	}
	return d
}

// Rights returns everything the caller may do at the entry, and why (an
// owner or administrator holds every right). It is what an effective-ACL
// query would show.
func (e *Engine) Rights(ctx context.Context, c Caller, entryDN string) (Rights, Rule, error) {
	eff := e.effective(ctx, c, entryDN, nil)
	if eff.rule == RuleAdmin || eff.rule == RuleOwner {
		var all Rights
		all.Object = objectPerms
		for i := range all.Class {
			all.Class[i] = classPerms
		}
		return all, eff.rule, nil
	}
	return eff.rights, eff.rule, eff.err
}

// CanSearch reports whether the caller may use attr in a filter at the
// entry; a filter item on an attribute it may not search evaluates to
// Undefined (RFC 4511 §4.5.1.7).
func (e *Engine) CanSearch(ctx context.Context, c Caller, entryDN, attr string) bool {
	return e.Decide(ctx, Request{Caller: c, EntryDN: entryDN, Op: OpSearch, Attribute: attr}).Allowed
}

// CanDiscover reports whether the caller may learn that the entry exists:
// it holds some right there (any permission on any class or on the
// object, ownership, or the entry is public). When an operation is
// refused, the directory answers insufficientAccessRights if CanDiscover
// is true and noSuchObject (with the matchedDN of the nearest
// discoverable ancestor) otherwise, so that refusals do not reveal hidden
// entries.
func (e *Engine) CanDiscover(ctx context.Context, c Caller, entryDN string) bool {
	r, rule, err := e.Rights(ctx, c, entryDN)
	return err == nil && (!r.IsZero() || rule == RuleOwner || rule == RuleAdmin)
}

// Refusal is the result code to answer a refused operation with.
type Refusal uint8

// Refusals.
const (
	RefuseInsufficientAccess Refusal = iota // insufficientAccessRights (50)
	RefuseNoSuchObject                      // noSuchObject (32): the entry's existence is secret
)

// Refuse tells the directory how to answer when Decide refused an
// operation on the entry: see CanDiscover.
func (e *Engine) Refuse(ctx context.Context, c Caller, entryDN string) Refusal {
	if e.CanDiscover(ctx, c, entryDN) {
		return RefuseInsufficientAccess
	}
	return RefuseNoSuchObject
}

// MatchedDN returns the matchedDN to put in a noSuchObject result for
// entryDN (RFC 4511 §4.1.9): the nearest of entryDN's ancestors, or
// entryDN itself, that the caller may discover, or "" — so that the
// result does not name entries the caller may not know of. The directory
// passes the matchedDN it found (the deepest existing entry).
func (e *Engine) MatchedDN(ctx context.Context, c Caller, matched string) string {
	for d := matched; d != ""; d = Parent(d) {
		if e.CanDiscover(ctx, c, d) {
			return d
		}
	}
	return ""
}

// Sources returns the computed aclSource and ownerSource of the entry: the
// DN whose aclEntry (entryOwner) values apply to it, "" when none does.
func (e *Engine) Sources(ctx context.Context, entryDN string) (aclSource, ownerSource string, err error) {
	gen := e.gen.Load()
	aclFound, ownerFound := false, false
	for d, first := entryDN, true; ; d, first = Parent(d), false {
		n, err := e.node(ctx, gen, d)
		if err != nil {
			return "", "", err
		}
		if !aclFound && n.hasACL && (first || n.aclProp) {
			aclSource, aclFound = d, true
		}
		if !ownerFound && n.hasOwner && (first || n.ownerProp) {
			ownerSource, ownerFound = d, true
		}
		if d == "" || aclFound && ownerFound {
			return aclSource, ownerSource, nil
		}
	}
}

// effective is what c may do at entryDN, from the decision cache or
// computed; own, when not nil, is the access-control attributes stored at
// entryDN (see DecideEntry).
func (e *Engine) effective(ctx context.Context, c Caller, entryDN string, own *Attributes) effective {
	gen := e.gen.Load()
	key := cacheKey{c.DN, entryDN}
	if l := e.recent[0].Load(); l != nil && l.gen == gen && l.key == key {
		return l.eff
	}
	if l := e.recent[1].Load(); l != nil && l.gen == gen && l.key == key {
		e.recent[1].Store(e.recent[0].Load())
		e.recent[0].Store(l)
		return l.eff
	}
	e.mu.RLock()
	if v, ok := e.cache[key]; ok && v.gen == gen {
		e.mu.RUnlock()
		e.remember(&lastEffective{key: key, gen: gen, eff: v.eff})
		return v.eff
	}
	e.mu.RUnlock()
	eff := e.compute(ctx, gen, c, entryDN, own)
	if eff.err != nil {
		return eff // do not cache failures
	}
	e.remember(&lastEffective{key: key, gen: gen, eff: eff})
	e.mu.Lock()
	if e.current(gen) {
		if len(e.cache) >= e.cfg.CacheSize {
			clear(e.cache)
		}
		e.cache[key] = cached{gen: gen, eff: eff}
	}
	e.mu.Unlock()
	return eff
}

// remember makes l the most recent answer.
func (e *Engine) remember(l *lastEffective) {
	e.recent[1].Store(e.recent[0].Load())
	e.recent[0].Store(l)
}

func (e *Engine) compute(ctx context.Context, gen uint64, c Caller, entryDN string, own *Attributes) effective {
	fail := func(err error) effective { return effective{rule: RuleError, err: err} }
	var caller string
	if !c.Anonymous() {
		n, err := e.normalized(c.DN)
		if err != nil {
			return fail(fmt.Errorf("acl: caller DN %q: %w", c.DN, err))
		}
		caller = n
		if e.admins[caller] {
			return effective{rule: RuleAdmin}
		}
	}
	var aclNode, ownerNode *node
	var aclSource string
	public := false
	for d, first := entryDN, true; ; d, first = Parent(d), false {
		var n *node
		var err error
		if first && own != nil {
			n = e.compileAt(*own, d)
			err = n.err
		} else {
			n, err = e.node(ctx, gen, d)
		}
		if err != nil {
			return fail(err)
		}
		if first {
			public = n.public
		}
		if aclNode == nil && n.hasACL && (first || n.aclProp) {
			aclNode, aclSource = n, d
		}
		if ownerNode == nil && n.hasOwner && (first || n.ownerProp) {
			ownerNode = n
		}
		if d == "" || aclNode != nil && ownerNode != nil {
			break
		}
	}
	if ownerNode != nil && caller != "" {
		for _, o := range ownerNode.owners {
			ok, err := e.matches(ctx, gen, o, caller, entryDN)
			if err != nil {
				return fail(err)
			}
			if ok {
				return effective{rule: RuleOwner, aclSource: aclSource}
			}
		}
	}
	eff := effective{rule: RuleNoACL, aclSource: aclSource}
	var grant, deny Rights
	if aclNode != nil {
		eff.rule = RuleNotGranted
		var idGrant, idDeny, grGrant, grDeny Rights
		explicit := false
		for i := range aclNode.acl {
			a := &aclNode.acl[i]
			switch {
			case a.subj.pseudo == This:
				if caller != "" && caller == entryDN {
					idGrant, idDeny = idGrant.or(a.grant), idDeny.or(a.deny)
					grGrant, grDeny = grGrant.or(a.grant), grDeny.or(a.deny)
				}
			case a.subj.typ == AccessID && a.subj.pseudo == NotPseudo:
				if caller != "" && caller == a.subj.dn {
					explicit = true
					idGrant, idDeny = idGrant.or(a.grant), idDeny.or(a.deny)
				}
			default:
				ok, err := e.matches(ctx, gen, a.subj, caller, entryDN)
				if err != nil {
					return fail(err)
				}
				if ok {
					grGrant, grDeny = grGrant.or(a.grant), grDeny.or(a.deny)
				}
			}
		}
		if explicit {
			grant, deny = idGrant, idDeny
		} else {
			grant, deny = grGrant, grDeny
		}
	}
	if public || e.cfg.Public != nil && e.cfg.Public(entryDN) {
		var pub Rights
		pub.Class[Normal] = Read | Search | Compare
		pub.Class[System] = Read | Search | Compare
		eff.public = pub.andNot(grant).andNot(deny)
		grant = grant.or(pub)
		if eff.rule == RuleNoACL {
			eff.rule = RuleNotGranted
		}
	}
	eff.rights = grant.andNot(deny)
	eff.denied = deny
	return eff
}

// matches reports whether subject s (a group, role, pseudo DN or
// access-id) includes the caller (normalised; "" = anonymous).
func (e *Engine) matches(ctx context.Context, gen uint64, s compiledSubject, caller, entryDN string) (bool, error) {
	switch s.pseudo {
	case Anybody:
		return true, nil
	case Authenticated:
		return caller != "", nil
	case This:
		return caller != "" && caller == entryDN, nil
	}
	if caller == "" {
		return false, nil
	}
	if s.typ == AccessID {
		return caller == s.dn, nil
	}
	members, err := e.members(ctx, gen, s.dn)
	if err != nil {
		return false, err
	}
	return members[caller], nil
}

func (e *Engine) members(ctx context.Context, gen uint64, group string) (map[string]bool, error) {
	e.mu.RLock()
	m, ok := e.groups[group]
	fresh := e.cgen == gen
	e.mu.RUnlock()
	if ok && fresh {
		return m, nil
	}
	m = map[string]bool{}
	if e.cfg.Members != nil {
		vals, err := e.cfg.Members(ctx, group)
		if err != nil {
			return nil, fmt.Errorf("acl: members of group %q: %w", group, err)
		}
		for _, v := range vals {
			// uniqueMember may carry an optional UID: "dn#'0101'B".
			if i := strings.LastIndex(v, "#'"); i > 0 && strings.HasSuffix(v, "'B") {
				v = v[:i]
			}
			if n, err := e.normalized(v); err == nil {
				m[n] = true
			}
		}
	}
	e.mu.Lock()
	if e.current(gen) {
		e.groups[group] = m
	}
	e.mu.Unlock()
	return m, nil
}

// node returns the parsed access-control attributes at normDN. A value
// that no longer parses (stored before a syntax change) is a lookup error,
// so access is denied rather than guessed.
func (e *Engine) node(ctx context.Context, gen uint64, normDN string) (*node, error) {
	e.mu.RLock()
	n, ok := e.nodes[normDN]
	fresh := e.cgen == gen
	e.mu.RUnlock()
	if ok && fresh {
		return n, n.err
	}
	attrs, err := e.cfg.Lookup(ctx, normDN)
	if err != nil {
		return nil, fmt.Errorf("acl: access-control attributes of %q: %w", normDN, err)
	}
	n = e.compileAt(attrs, normDN)
	e.mu.Lock()
	if e.current(gen) && len(e.nodes) < e.cfg.CacheSize {
		e.nodes[normDN] = n
	}
	e.mu.Unlock()
	return n, n.err
}

// Shared nodes of entries that carry no access-control attributes (most
// entries): they are never modified.
var (
	bareNode       = &node{aclProp: true, ownerProp: true}
	bareNodePublic = &node{aclProp: true, ownerProp: true, public: true}
)

// compileAt is compile for the entry normDN, whose name its error carries.
func (e *Engine) compileAt(a Attributes, normDN string) *node {
	if len(a.ACLEntry) == 0 && len(a.EntryOwner) == 0 && a.ACLPropagate == "" && a.OwnerPropagate == "" {
		if a.Public {
			return bareNodePublic
		}
		return bareNode
	}
	n := e.compile(a)
	if n.err != nil {
		n.err = fmt.Errorf("acl: entry %q: %w", normDN, n.err)
	}
	return n
}

func (e *Engine) compile(a Attributes) *node {
	n := &node{aclProp: true, ownerProp: true, hasACL: len(a.ACLEntry) > 0, hasOwner: len(a.EntryOwner) > 0, public: a.Public}
	var err error
	if a.ACLPropagate != "" {
		if n.aclProp, err = ParsePropagate("aclPropagate", a.ACLPropagate); err != nil {
			n.err = err
			return n
		}
	}
	if a.OwnerPropagate != "" {
		if n.ownerProp, err = ParsePropagate("ownerPropagate", a.OwnerPropagate); err != nil {
			n.err = err
			return n
		}
	}
	// A subject DN the directory cannot normalise (an attribute type its
	// schema lacks) names no identity that can bind, so it matches nobody;
	// refusing the whole ACL instead would lock everyone out of the subtree.
	// Engine.CheckValue keeps such values out in the first place.
	subject := func(s Subject) (compiledSubject, bool) {
		cs := compiledSubject{typ: s.Type, pseudo: s.Pseudo()}
		if cs.pseudo == NotPseudo {
			var err error
			if cs.dn, err = e.normalized(s.DN); err != nil {
				return cs, false
			}
		}
		return cs, true
	}
	for _, v := range a.ACLEntry {
		p, err := ParseACLEntry(v)
		if err != nil {
			n.err = err
			return n
		}
		if cs, ok := subject(p.Subject); ok {
			n.acl = append(n.acl, compiled{subj: cs, grant: p.Grant, deny: p.Deny})
		}
	}
	for _, v := range a.EntryOwner {
		s, err := ParseOwner(v)
		if err != nil {
			n.err = err
			return n
		}
		if cs, ok := subject(s); ok {
			n.owners = append(n.owners, cs)
		}
	}
	return n
}
