package directory

import (
	"context"
	"crypto/x509"
	"strings"

	"github.com/pkid/pkid/ldap"
)

// LDAPBackend serves a Tree through the LDAP frontend: it implements
// ldap.Backend and ldap.ExternalBackend, translating between the wire
// types and the Tree's. It holds no state of its own.
type LDAPBackend struct {
	Tree *Tree
	// CheckCertificate, when set, runs first at every SASL EXTERNAL bind
	// with the verified chain (leaf first); an error refuses the bind.
	// pkid serve checks revocation in the store here.
	CheckCertificate func(ctx context.Context, chain []*x509.Certificate) error
}

func identity(id ldap.Identity) Identity {
	return Identity{DN: id.DN, Mechanism: id.Mechanism}
}

// Bind implements ldap.Backend.
func (b *LDAPBackend) Bind(ctx context.Context, name string, password []byte) (ldap.Identity, error) {
	id, err := b.Tree.Bind(ctx, name, password)
	if err != nil {
		return ldap.Identity{}, err
	}
	return ldap.Identity{DN: id.DN, Mechanism: id.Mechanism}, nil
}

// Search implements ldap.Backend.
func (b *LDAPBackend) Search(ctx context.Context, id ldap.Identity, req *ldap.SearchRequest, page *ldap.Page, send func(*ldap.SearchResultEntry) error) ([]byte, error) {
	p := SearchParams{Request: req}
	if page != nil {
		p.PageSize, p.Cookie = page.Size, page.Cookie
	}
	// send encodes each entry before it returns, so the search can be
	// transient: one set of buffers serves every entry.
	sc := getScratch()
	defer putScratch(sc)
	out := &sc.wire
	res, err := b.Tree.search(ctx, identity(id), p, sc, func(e *Entry) error {
		out.ObjectName = e.DN
		out.Attributes = grow(out.Attributes, len(e.Attributes))
		for _, a := range e.Attributes {
			out.Attributes = append(out.Attributes, ldap.Attribute(a))
		}
		return send(out)
	})
	return res.Cookie, err
}

// Compare implements ldap.Backend.
func (b *LDAPBackend) Compare(ctx context.Context, id ldap.Identity, req *ldap.CompareRequest) (bool, error) {
	return b.Tree.Compare(ctx, identity(id), req.Entry, req.Attr, req.Value)
}

// Add implements ldap.Backend.
func (b *LDAPBackend) Add(ctx context.Context, id ldap.Identity, req *ldap.AddRequest) error {
	e := &Entry{DN: req.Entry, Attributes: make([]Attribute, len(req.Attributes))}
	for i, a := range req.Attributes {
		e.Attributes[i] = Attribute(a)
	}
	return b.Tree.Add(ctx, identity(id), e)
}

// Modify implements ldap.Backend.
func (b *LDAPBackend) Modify(ctx context.Context, id ldap.Identity, req *ldap.ModifyRequest) error {
	return b.Tree.Modify(ctx, identity(id), req.Object, req.Changes)
}

// Delete implements ldap.Backend.
func (b *LDAPBackend) Delete(ctx context.Context, id ldap.Identity, dn string) error {
	return b.Tree.Delete(ctx, identity(id), dn)
}

// ModifyDN implements ldap.Backend.
func (b *LDAPBackend) ModifyDN(ctx context.Context, id ldap.Identity, req *ldap.ModifyDNRequest) error {
	var sup *string
	if req.HasNewSuperior {
		sup = &req.NewSuperior
	}
	return b.Tree.ModifyDN(ctx, identity(id), req.Entry, req.NewRDN, req.DeleteOldRDN, sup)
}

// PasswordModify implements ldap.Backend.
func (b *LDAPBackend) PasswordModify(ctx context.Context, id ldap.Identity, user string, oldPassword, newPassword []byte) ([]byte, error) {
	return b.Tree.PasswordModify(ctx, identity(id), user, oldPassword, newPassword)
}

// BindExternal implements ldap.ExternalBackend with the one mapping rule
// of this stage: the certificate's subject DN names an entry of the tree
// (compared in normal form, so case and spacing do not matter). The rule
// table (regular expressions, DN filters, userCertificate match) and
// authorization identities come with access control (issue 6); until then
// an authzID other than the mapped one is refused.
func (b *LDAPBackend) BindExternal(ctx context.Context, chain []*x509.Certificate, authzID string) (ldap.Identity, error) {
	leaf := chain[0]
	if b.CheckCertificate != nil {
		if err := b.CheckCertificate(ctx, chain); err != nil {
			return ldap.Identity{}, err
		}
	}
	subject := leaf.Subject.String()
	if subject == "" {
		return ldap.Identity{}, ldap.Errorf(ldap.ResultInvalidCredentials, "client certificate serial %X has an empty subject and maps to no entry", leaf.SerialNumber)
	}
	found := ""
	req := &ldap.SearchRequest{BaseObject: subject, Scope: ldap.ScopeBaseObject,
		Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}, Attributes: []string{"1.1"}}
	_, err := b.Tree.Search(ctx, Identity{}, SearchParams{Request: req}, func(e *Entry) error {
		found = e.DN
		return nil
	})
	if err != nil || found == "" {
		return ldap.Identity{}, ldap.Errorf(ldap.ResultInvalidCredentials, "client certificate serial %X: no entry has its subject DN %q", leaf.SerialNumber, subject)
	}
	if authzID != "" {
		want, ok := strings.CutPrefix(authzID, "dn:")
		n1, err1 := NormalizeDN(b.Tree.Schema(), want)
		n2, err2 := NormalizeDN(b.Tree.Schema(), found)
		if !ok || err1 != nil || err2 != nil || n1 != n2 {
			return ldap.Identity{}, ldap.Errorf(ldap.ResultInvalidCredentials, "client certificate serial %X may not assume authorization identity %q", leaf.SerialNumber, authzID)
		}
	}
	return ldap.Identity{DN: found, Mechanism: "EXTERNAL"}, nil
}
