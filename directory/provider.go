package directory

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Provider supplies virtual entries: entries computed from other data in
// the store (the CA entries and the CA database view of pki.go) rather
// than stored in the directory. A provider's entries win over stored
// entries with the same DN; the ancestors of its top entries that are
// neither stored nor the provider's appear as virtual parents (see
// VirtualParent). Provider entries are read-only: Add, Modify, Delete and
// ModifyDN on a DN a provider owns fail with unwillingToPerform and the
// provider's sentence.
//
// Entries a provider returns hold the provider's attributes under their
// type names (no ";binary": the Tree adds it for binary syntaxes) and must
// not be modified by the Tree's callers (the Tree never does).
type Provider interface {
	// Owns reports whether the entry normDN (normalised with the Tree's
	// schema) is the provider's, whether it exists or not.
	Owns(ctx context.Context, normDN string) (Ownership, error)
	// Entry returns the provider's entry normDN; ok is false when there
	// is none.
	Entry(ctx context.Context, normDN string) (e *Entry, ok bool, err error)
	// Search calls fn with every provider entry in scope of base
	// (normalised), each once, in an order that is the same on every call
	// with the same data (paged results count entries). filter is a hint
	// the provider may use to select fewer entries: the Tree evaluates it
	// on every entry fn receives.
	Search(ctx context.Context, base string, scope store.DirScope, filter *ldap.Filter, fn func(normDN string, e *Entry) error) error
	// Tops returns the DNs (RFC 4514) of the provider's top entries: those
	// whose parents are not the provider's.
	Tops(ctx context.Context) ([]string, error)
}

// Ownership says whether and how a provider maintains a DN.
type Ownership struct {
	// Owned is true for the provider's DNs.
	Owned bool
	// Why is the sentence an attempted write gets, saying who maintains
	// the entry and what to do instead.
	Why string
	// Class tells access control what kind of entry this is
	// (ClassPublic, ClassRestricted).
	Class string
}

// Classes of provider entries, for access control (Tree.Ownership).
const (
	// ClassPublic entries are meant to be readable by anyone, anonymous
	// included: the CA entries with their certificates and CRLs, which
	// TLS stacks fetch without binding.
	ClassPublic = "public"
	// ClassRestricted entries (the CA database view) are readable by the
	// suffix owner only unless an ACL grants more.
	ClassRestricted = "restricted"
	// ClassVirtualParent marks the virtual parents created above provider
	// entries (c=GB, o=SSS,c=GB, ...): readable like ClassPublic.
	ClassVirtualParent = "virtual-parent"
)

// Ownership reports which provider, if any, maintains normDN and how (the
// zero Ownership when none): access control uses Class to apply its
// defaults to provider entries. A virtual parent has Owned true and
// Class ClassVirtualParent.
func (t *Tree) Ownership(ctx context.Context, normDN string) (Ownership, error) {
	_, o, err := t.owner(ctx, normDN)
	if err != nil || o.Owned {
		return o, err
	}
	if vp, err := t.virtualParents(ctx); err != nil {
		return Ownership{}, err
	} else if _, ok := vp[normDN]; ok {
		if _, err := t.st.DirEntry(ctx, normDN); err != nil {
			return Ownership{Owned: true, Class: ClassVirtualParent,
				Why: fmt.Sprintf("the entry %q exists only as the parent of entries pkid maintains; add it with ldapadd to store it", normDN)}, nil
		}
	}
	return Ownership{}, nil
}

// owner returns the provider that owns normDN.
func (t *Tree) owner(ctx context.Context, normDN string) (Provider, Ownership, error) {
	for _, p := range t.cfg.Providers {
		o, err := p.Owns(ctx, normDN)
		if err != nil {
			return nil, Ownership{}, storeErr(err)
		}
		if o.Owned {
			return p, o, nil
		}
	}
	return nil, Ownership{}, nil
}

// refuseProvided is the write guard: unwillingToPerform for a DN a
// provider owns.
func (t *Tree) refuseProvided(ctx context.Context, normDN string) error {
	if len(t.cfg.Providers) == 0 {
		return nil
	}
	_, o, err := t.owner(ctx, normDN)
	if err != nil {
		return err
	}
	if o.Owned {
		return ldap.Errorf(ldap.ResultUnwillingToPerform, "%s", o.Why)
	}
	return nil
}

// virtual is a virtual entry found by DN.
type virtual struct {
	entry *Entry
	norm  string
}

// virtualParents returns the virtual parent entries by normalised DN:
// every ancestor of a provider's top entry that no provider owns. The
// caller drops those that are stored.
func (t *Tree) virtualParents(ctx context.Context) (map[string]*Entry, error) {
	if t.cache == nil {
		return t.computeVirtualParents(ctx)
	}
	// Every search asks, so the answer is kept for one read-cache
	// generation: the providers' tops change only with the store (a new
	// CA), which flushes the read cache within its maxAge.
	gen := t.cacheBegin(ctx)
	c := &t.vparents
	c.mu.Lock()
	if c.valid && c.gen == gen {
		m := c.m
		c.mu.Unlock()
		return m, nil
	}
	c.mu.Unlock()
	m, err := t.computeVirtualParents(ctx)
	if err == nil {
		c.mu.Lock()
		c.gen, c.m, c.valid = gen, m, true
		c.mu.Unlock()
	}
	return m, err
}

// vparentCache holds virtualParents' answer (read-only once stored) for
// the read-cache generation gen.
type vparentCache struct {
	mu    sync.Mutex
	gen   uint64
	valid bool
	m     map[string]*Entry
}

func (t *Tree) computeVirtualParents(ctx context.Context) (map[string]*Entry, error) {
	out := map[string]*Entry{}
	for _, p := range t.cfg.Providers {
		tops, err := p.Tops(ctx)
		if err != nil {
			return nil, storeErr(err)
		}
		for _, s := range tops {
			d, err := ParseDN(s)
			if err != nil {
				continue
			}
			for a := d.Parent(); len(a) > 0; a = a.Parent() {
				n := a.Normalize(t.schema)
				if _, ok := out[n]; ok {
					break
				}
				if _, o, err := t.owner(ctx, n); err != nil {
					return nil, err
				} else if o.Owned {
					break
				}
				out[n] = t.VirtualParent(a)
			}
		}
	}
	return out, nil
}

// VirtualParent returns the entry shown for an ancestor of provider
// entries that is not stored: its RDN's attributes and an object class
// chosen by the RDN's type (c: country, o: organization, ou:
// organizationalUnit, l: locality, dc: domain; other types:
// extensibleObject), so clients walking the tree from c=GB down find every
// level, as users create them by hand before publishing a CRL.
func (t *Tree) VirtualParent(d DN) *Entry {
	e := &Entry{DN: d.String()}
	class := "extensibleObject"
	if len(d) > 0 && len(d[0]) == 1 {
		if at := t.schema.Attribute(d[0][0].Type); at != nil {
			switch strings.ToLower(at.Name()) {
			case "c":
				class = "country"
			case "o":
				class = "organization"
			case "ou":
				class = "organizationalUnit"
			case "l":
				class = "locality"
			case "dc":
				class = "domain"
			}
		}
	}
	e.Attributes = append(e.Attributes, Attribute{Type: "objectClass", Values: [][]byte{[]byte("top"), []byte(class)}})
	if len(d) > 0 {
		for _, ava := range d[0] {
			name := ava.Type
			if at := t.schema.Attribute(ava.Type); at != nil {
				name = at.Name()
			}
			e.Attributes = append(e.Attributes, Attribute{Type: name, Values: [][]byte{[]byte(ava.Value)}})
		}
	}
	return e
}

// virtualEntry returns the provider entry or virtual parent named norm
// when it is not stored (a provider's entry wins even over a stored one).
func (t *Tree) virtualEntry(ctx context.Context, norm string) (*virtual, bool, error) {
	if len(t.cfg.Providers) == 0 {
		return nil, false, nil
	}
	p, o, err := t.owner(ctx, norm)
	if err != nil {
		return nil, false, err
	}
	if o.Owned {
		e, ok, err := p.Entry(ctx, norm)
		if err != nil || !ok {
			return nil, false, storeErr(err)
		}
		return &virtual{entry: e, norm: norm}, true, nil
	}
	vp, err := t.virtualParents(ctx)
	if err != nil {
		return nil, false, err
	}
	e, ok := vp[norm]
	if !ok {
		return nil, false, nil
	}
	if _, err := t.st.DirEntry(ctx, norm); err == nil {
		return nil, false, nil // stored: the stored entry is the one
	}
	return &virtual{entry: e, norm: norm}, true, nil
}

// searchVirtual calls emit with the provider entries and virtual parents
// in scope of base (normalised, parsed as bd), after the stored entries
// were searched: stored entries with a provider's DN were skipped there.
func (t *Tree) searchVirtual(ctx context.Context, bd DN, base string, scope store.DirScope, children bool, f *ldap.Filter, emit func(e *Entry, normDN string) error) error {
	if len(t.cfg.Providers) == 0 {
		return nil
	}
	// Virtual entries in scope are provider tops below the base or their
	// ancestors: with no top below the base (the usual search of stored
	// entries) there is nothing to add, and no store lookups are spent.
	any := false
	for _, p := range t.cfg.Providers {
		tops, err := p.Tops(ctx)
		if err != nil {
			return storeErr(err)
		}
		for _, s := range tops {
			if n, ok := t.normTop(s); ok && store.InScope(n, -1, -1, base, store.DirSub) {
				any = true
			}
		}
	}
	if !any {
		return nil
	}
	vp, err := t.virtualParents(ctx)
	if err != nil {
		return err
	}
	// Virtual parents in a stable order: shorter DNs (higher) first.
	var names []string
	for n := range vp {
		if _, err := t.st.DirEntry(ctx, n); err == nil {
			continue
		}
		names = append(names, n)
	}
	sortByDepth(names)
	for _, n := range names {
		d, err := ParseDN(vp[n].DN)
		if err != nil {
			continue
		}
		if !dnInScope(t.schema, d, bd, base, scope) || (children && n == base) {
			continue
		}
		if err := emit(vp[n], n); err != nil {
			return err
		}
	}
	for _, p := range t.cfg.Providers {
		err := p.Search(ctx, base, scope, f, func(n string, e *Entry) error {
			if children && n == base {
				return nil
			}
			return emit(e, n)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// dnInScope reports whether d is in scope of base (bd parsed, base
// normalised).
func dnInScope(s *Schema, d, bd DN, base string, scope store.DirScope) bool {
	extra := len(d) - len(bd)
	if extra < 0 || d[extra:].Normalize(s) != base {
		return false
	}
	switch scope {
	case store.DirBase:
		return extra == 0
	case store.DirOne:
		return extra == 1
	}
	return true
}

// InScope reports whether the entry normDN is in scope of base (both
// normalised with the Tree's schema): for providers' Search.
func (t *Tree) InScope(normDN, base string, scope store.DirScope) bool {
	d, err := ParseDN(normDN)
	if err != nil {
		return false
	}
	bd, err := ParseDN(base)
	if err != nil {
		return false
	}
	return dnInScope(t.schema, d, bd, base, scope)
}

func sortByDepth(names []string) {
	depth := func(n string) int {
		d, err := ParseDN(n)
		if err != nil {
			return 0
		}
		return len(d)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0; j-- {
			a, b := names[j-1], names[j]
			if da, db := depth(a), depth(b); da < db || da == db && a < b {
				break
			}
			names[j-1], names[j] = names[j], names[j-1]
		}
	}
}

// Public reports whether normDN is a provider entry meant to be readable
// by anyone (ClassPublic: the CA entries; ClassVirtualParent: their
// ancestors that are not stored): the shape of acl.Config.Public, so the
// CA certificates and CRLs can be fetched anonymously under default-deny
// ACLs while the CA database view (ClassRestricted) stays the owner's.
func (t *Tree) Public(normDN string) bool {
	o, err := t.Ownership(context.Background(), normDN)
	return err == nil && (o.Class == ClassPublic || o.Class == ClassVirtualParent)
}
