package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// DefaultCAViewRDN is the RDN of the CA database view under each CA's
// entry unless PKIConfig.ViewRDN says otherwise.
const DefaultCAViewRDN = "ou=certificates"

// DefaultPKIMaxAge is how long the PKI provider trusts its cached CA
// entries before asking the store for its change-feed revision: the bound
// on how late a new CRL or CA is seen (a CRL regenerated 100 ms after a
// revocation is in the directory at most 200 ms after it).
const DefaultPKIMaxAge = 100 * time.Millisecond

// PKIConfig configures the PKI provider.
type PKIConfig struct {
	// Store holds the CAs, certificates and CRLs: the same store as the
	// Tree's.
	Store store.Store
	// Schema normalises DNs; nil means DefaultSchema(). It must be the
	// Tree's schema.
	Schema *Schema
	// ViewRDN names the CA database view under each CA entry; ""
	// means DefaultCAViewRDN and "-" turns the view off.
	ViewRDN string
	// MaxAge bounds how stale the cached CA entries may be (0:
	// DefaultPKIMaxAge).
	MaxAge time.Duration
	// Now decides which certificates are expired; nil means time.Now.
	Now func() time.Time
}

// PKI is the Provider of the live PKI entries (issue 6):
//
//   - every CA in the store at its own subject DN, normalised with the
//     directory's rules, with the object classes top, cRLDistributionPoint
//     (the structural class: RFC 4523's pkiCA and RFC 2256's
//     certificationAuthority are auxiliary, and cRLDistributionPoint is
//     what the hand-published entries GSKit reads use), pkiCA and
//     certificationAuthority, plus extensibleObject when the CA's RDN type
//     is not cn; attributes cn (the subject's CN, else the RDN value), the
//     RDN's attribute, cACertificate, certificateRevocationList (the newest
//     full CRL in the store), authorityRevocationList (the same CRL: pkid's
//     full CRLs cover the CA certificates a CA issued, and
//     certificationAuthority requires the attribute) and
//     deltaRevocationList (the newest delta CRL) when the CA issues deltas.
//     All four are binary-syntax types, returned as "type;binary" (RFC
//     4522) and selectable with or without ";binary". A CA without a
//     stored CRL yet has no CRL attributes.
//   - the CA database view, like z/OS SDBM shows RACF: below each CA entry
//     an organizationalUnit (ViewRDN) and one pkidCertificate entry per
//     certificate the CA issued, RDN serialNumber=<upper-case hex>, with
//     serialNumber, status (valid, revoked, expired), notBefore, notAfter,
//     revocationReason, revocationDate, subject, issuer, subjectAltName,
//     certificateProfile and userCertificate (schema/pkid.schema).
//
// The CA entries are cached and rebuilt when the store's change-feed
// revision moves (checked at most every MaxAge), so a new CRL reaches
// searches within MaxAge. The view reads the store on every search: an
// equality on serialNumber reads one certificate, an equality on status
// asks the store for that status, anything else lists the CA's
// certificates. Entries are ClassPublic (CA entries) or ClassRestricted
// (the view): the intended default for the view is that only the suffix
// owner reads it unless an ACL grants more.
type PKI struct {
	cfg    PKIConfig
	schema *Schema
	view   DN // nil: no view
	now    func() time.Time
	maxAge time.Duration

	mu      sync.Mutex
	rev     int64
	checked time.Time
	cas     []*pkiCA
	byNorm  map[string]*pkiCA
}

// pkiCA is one CA's cached entry.
type pkiCA struct {
	ca       *store.CA
	dn       DN
	norm     string
	viewDN   DN
	viewNorm string
	entry    *Entry
}

// NewPKI returns the PKI provider; register it in Config.Providers.
func NewPKI(cfg PKIConfig) (*PKI, error) {
	p := &PKI{cfg: cfg, schema: cfg.Schema, now: cfg.Now, maxAge: cfg.MaxAge}
	if p.schema == nil {
		p.schema = DefaultSchema()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.maxAge == 0 {
		p.maxAge = DefaultPKIMaxAge
	}
	if cfg.Store == nil {
		return nil, errors.New("directory: PKI provider needs a store")
	}
	switch cfg.ViewRDN {
	case "-":
	case "":
		p.view, _ = ParseDN(DefaultCAViewRDN)
	default:
		d, err := ParseDN(cfg.ViewRDN)
		if err != nil || len(d) != 1 {
			return nil, fmt.Errorf("directory: CA view RDN %q is not one RDN", cfg.ViewRDN)
		}
		p.view = d
	}
	return p, nil
}

// state returns the cached CA entries, rebuilt when the store changed.
func (p *PKI) state(ctx context.Context) ([]*pkiCA, map[string]*pkiCA, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.byNorm != nil && now.Sub(p.checked) < p.maxAge {
		return p.cas, p.byNorm, nil
	}
	rev, err := p.cfg.Store.Revision(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("PKI entries: read the store's revision: %w", err)
	}
	if p.byNorm != nil && rev == p.rev {
		p.checked = now
		return p.cas, p.byNorm, nil
	}
	cas, err := p.cfg.Store.CAs(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("PKI entries: list CAs: %w", err)
	}
	var list []*pkiCA
	by := map[string]*pkiCA{}
	for _, c := range cas {
		x, err := p.build(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		if x == nil || by[x.norm] != nil {
			continue // no usable subject, or two CAs with one name: the first wins
		}
		list = append(list, x)
		by[x.norm] = x
	}
	p.cas, p.byNorm, p.rev, p.checked = list, by, rev, now
	return list, by, nil
}

// build makes a CA's entry from the store.
func (p *PKI) build(ctx context.Context, c *store.CA) (*pkiCA, error) {
	d, err := ParseDN(c.Subject)
	if err != nil || len(d) == 0 {
		return nil, nil // a CA whose subject is not a DN the directory can hold is not shown
	}
	for _, rdn := range d {
		for _, ava := range rdn {
			if p.schema.Attribute(ava.Type) == nil {
				return nil, nil
			}
		}
	}
	x := &pkiCA{ca: c, dn: d, norm: d.Normalize(p.schema)}
	if p.view != nil {
		x.viewDN = append(append(DN{}, p.view...), d...)
		x.viewNorm = x.viewDN.Normalize(p.schema)
	}
	classes := []string{"top", "cRLDistributionPoint", "pkiCA", "certificationAuthority"}
	cn := ""
	for _, rdn := range d {
		for _, ava := range rdn {
			if at := p.schema.Attribute(ava.Type); at != nil && strings.EqualFold(at.Name(), "cn") && cn == "" {
				cn = ava.Value
			}
		}
	}
	e := &Entry{DN: d.String()}
	var rdnAttrs []Attribute
	for _, ava := range d[0] {
		at := p.schema.Attribute(ava.Type)
		if strings.EqualFold(at.Name(), "cn") {
			continue
		}
		if !strings.Contains(strings.Join(classes, " "), "extensibleObject") {
			classes = append(classes, "extensibleObject")
		}
		rdnAttrs = append(rdnAttrs, Attribute{Type: at.Name(), Values: [][]byte{[]byte(ava.Value)}})
	}
	if cn == "" {
		cn = d[0][0].Value
	}
	e.Attributes = append(e.Attributes, Attribute{Type: "objectClass", Values: bytesOf(classes...)})
	e.Attributes = append(e.Attributes, Attribute{Type: "cn", Values: bytesOf(cn)})
	e.Attributes = append(e.Attributes, rdnAttrs...)
	e.Attributes = append(e.Attributes, Attribute{Type: "cACertificate", Values: [][]byte{c.CertDER}})
	crl, err := p.cfg.Store.LatestCRL(ctx, c.ID, false)
	switch {
	case err == nil:
		e.Attributes = append(e.Attributes,
			Attribute{Type: "certificateRevocationList", Values: [][]byte{crl.DER}},
			Attribute{Type: "authorityRevocationList", Values: [][]byte{crl.DER}})
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("PKI entries: CRL of CA %s: %w", c.ID, err)
	}
	if c.DeltaCRL {
		delta, err := p.cfg.Store.LatestCRL(ctx, c.ID, true)
		switch {
		case err == nil:
			e.Attributes = append(e.Attributes, Attribute{Type: "deltaRevocationList", Values: [][]byte{delta.DER}})
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("PKI entries: delta CRL of CA %s: %w", c.ID, err)
		}
	}
	x.entry = e
	return x, nil
}

func bytesOf(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, v := range s {
		out[i] = []byte(v)
	}
	return out
}

// where classifies normDN: the CA it belongs to and whether it is the CA
// entry, the view container or a certificate entry (with its serial).
func (p *PKI) where(ctx context.Context, normDN string) (x *pkiCA, kind int, serial string, err error) {
	_, by, err := p.state(ctx)
	if err != nil {
		return nil, 0, "", err
	}
	if x := by[normDN]; x != nil {
		return x, kindCA, "", nil
	}
	if p.view == nil {
		return nil, 0, "", nil
	}
	// Most DNs asked about are ordinary stored entries: rule them out
	// without parsing.
	below := false
	for _, x := range by {
		below = below || strings.HasSuffix(normDN, x.viewNorm)
	}
	if !below {
		return nil, 0, "", nil
	}
	d, err := ParseDN(normDN)
	if err != nil || len(d) < 2 {
		return nil, 0, "", nil
	}
	if x := by[d[1:].Normalize(p.schema)]; x != nil && d.Normalize(p.schema) == x.viewNorm {
		return x, kindView, "", nil
	}
	if len(d) >= 3 {
		if x := by[d[2:].Normalize(p.schema)]; x != nil && d[1:].Normalize(p.schema) == x.viewNorm {
			serial := ""
			if len(d[0]) == 1 && strings.EqualFold(p.schema.Attribute(d[0][0].Type).Name(), "serialNumber") {
				serial = d[0][0].Value
			}
			return x, kindCert, serial, nil
		}
	}
	return nil, 0, "", nil
}

const (
	kindCA = iota + 1
	kindView
	kindCert
)

// Owns implements Provider: the CA entries, each CA's view container and
// everything below it.
func (p *PKI) Owns(ctx context.Context, normDN string) (Ownership, error) {
	x, kind, _, err := p.where(ctx, normDN)
	if err != nil || x == nil {
		return Ownership{}, err
	}
	if kind == kindCA {
		return Ownership{Owned: true, Class: ClassPublic,
			Why: fmt.Sprintf("the CA entry %s is maintained by pkid from its CA database; revoke certificates with `pkid revoke` and its CRL follows", x.entry.DN)}, nil
	}
	return Ownership{Owned: true, Class: ClassRestricted,
		Why: fmt.Sprintf("%s is pkid's read-only view of the certificates CA %s issued; use `pkid issue` and `pkid revoke` to change them", normDN, x.entry.DN)}, nil
}

// Entry implements Provider.
func (p *PKI) Entry(ctx context.Context, normDN string) (*Entry, bool, error) {
	x, kind, serial, err := p.where(ctx, normDN)
	if err != nil || x == nil {
		return nil, false, err
	}
	switch kind {
	case kindCA:
		return x.entry, true, nil
	case kindView:
		return p.viewEntry(x), true, nil
	}
	if serial == "" {
		return nil, false, nil
	}
	c, err := p.cfg.Store.Certificate(ctx, serial)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.CAID != x.ca.ID {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("CA view: certificate %s: %w", serial, err)
	}
	return p.certEntry(x, c), true, nil
}

// Tops implements Provider: the CA entries.
func (p *PKI) Tops(ctx context.Context) ([]string, error) {
	cas, _, err := p.state(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cas))
	for i, x := range cas {
		out[i] = x.entry.DN
	}
	return out, nil
}

// Search implements Provider: each CA in creation order, then its view
// container, then its certificates in issue order.
func (p *PKI) Search(ctx context.Context, base string, scope store.DirScope, f *ldap.Filter, fn func(string, *Entry) error) error {
	cas, _, err := p.state(ctx)
	if err != nil {
		return err
	}
	bd, err := ParseDN(base)
	if err != nil {
		return nil
	}
	in := func(d DN) bool { return dnInScope(p.schema, d, bd, base, scope) }
	for _, x := range cas {
		if in(x.dn) {
			if err := fn(x.norm, x.entry); err != nil {
				return err
			}
		}
		if p.view == nil {
			continue
		}
		if in(x.viewDN) {
			if err := fn(x.viewNorm, p.viewEntry(x)); err != nil {
				return err
			}
		}
		// Certificates are one level below the container: in scope when
		// the container is the base of a one-level search, or the base
		// is the container or above it in a subtree search.
		under := len(bd) <= len(x.viewDN) && x.viewDN[len(x.viewDN)-len(bd):].Normalize(p.schema) == base
		if !under || !(scope == store.DirSub || scope == store.DirOne && len(bd) == len(x.viewDN)) {
			continue
		}
		if err := p.searchCerts(ctx, x, f, fn); err != nil {
			return err
		}
	}
	return nil
}

// searchCerts lists a CA's certificates, asking the store for fewer when
// the filter pins serialNumber or status.
func (p *PKI) searchCerts(ctx context.Context, x *pkiCA, f *ldap.Filter, fn func(string, *Entry) error) error {
	q := store.Query{CAID: x.ca.ID, Now: p.now()}
	if serial, ok := p.pinned(f, "serialNumber"); ok {
		c, err := p.cfg.Store.Certificate(ctx, serial)
		if errors.Is(err, store.ErrNotFound) || err == nil && c.CAID != x.ca.ID {
			return nil
		}
		if err != nil {
			return fmt.Errorf("CA view: certificate %s: %w", serial, err)
		}
		e := p.certEntry(x, c)
		return fn(p.certNorm(x, c), e)
	}
	if status, ok := p.pinned(f, "status"); ok {
		no, yes := false, true
		switch strings.ToLower(status) {
		case "revoked":
			q.Status = store.StatusRevoked
		case "valid":
			q.Status, q.Expired = store.StatusValid, &no
		case "expired":
			q.Status, q.Expired = store.StatusValid, &yes
		default:
			return nil // no certificate has another status
		}
	}
	certs, err := p.cfg.Store.Certificates(ctx, q)
	if err != nil {
		return fmt.Errorf("CA view: list certificates of CA %s: %w", x.ca.ID, err)
	}
	for _, c := range certs {
		if err := fn(p.certNorm(x, c), p.certEntry(x, c)); err != nil {
			return err
		}
	}
	return nil
}

// pinned returns the value an equality on attribute name requires: the
// filter itself or a conjunct of a top-level AND.
func (p *PKI) pinned(f *ldap.Filter, name string) (string, bool) {
	if f == nil {
		return "", false
	}
	want := p.schema.Attribute(name)
	switch f.Type {
	case ldap.FilterEqualityMatch:
		if d, _, err := p.schema.parseAttrDesc(f.Attr); err == nil && d.at == want && d.opts == "" {
			return strings.TrimSpace(string(f.Value)), true
		}
	case ldap.FilterAnd:
		for i := range f.Children {
			if v, ok := p.pinned(&f.Children[i], name); ok {
				return v, true
			}
		}
	}
	return "", false
}

func (p *PKI) viewEntry(x *pkiCA) *Entry {
	e := &Entry{DN: x.viewDN.String()}
	e.Attributes = append(e.Attributes, Attribute{Type: "objectClass", Values: bytesOf("top", "organizationalUnit")})
	for _, ava := range x.viewDN[0] {
		e.Attributes = append(e.Attributes, Attribute{Type: p.schema.Attribute(ava.Type).Name(), Values: bytesOf(ava.Value)})
	}
	e.Attributes = append(e.Attributes, Attribute{Type: "description", Values: bytesOf("pkid's read-only view of the certificates this CA issued")})
	return e
}

func (p *PKI) certDN(x *pkiCA, c *store.Certificate) DN {
	return append(DN{RDN{AVA{Type: "serialNumber", Value: c.Serial}}}, x.viewDN...)
}

func (p *PKI) certNorm(x *pkiCA, c *store.Certificate) string {
	return p.certDN(x, c).Normalize(p.schema)
}
