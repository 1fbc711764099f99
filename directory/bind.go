package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Bind verifies a simple bind (RFC 4513 §5.1) and returns the identity.
// An empty name with an empty password is an anonymous bind; a name with
// an empty password (unauthenticated bind, §5.1.2) is refused with
// unwillingToPerform. An unknown DN, an entry without userPassword and a
// wrong password all give invalidCredentials, with the same message so the
// answer does not reveal which.
func (t *Tree) Bind(ctx context.Context, name string, password []byte) (Identity, error) {
	if len(password) == 0 {
		if name == "" {
			return Identity{}, nil
		}
		return Identity{}, ldap.Errorf(ldap.ResultUnwillingToPerform, "unauthenticated bind (DN with no password) disallowed")
	}
	if name == "" {
		return Identity{}, ldap.Errorf(ldap.ResultUnwillingToPerform, "a password without a DN is not a valid simple bind")
	}
	_, norm, err := t.parseDN(name)
	if err != nil {
		return Identity{}, err
	}
	invalid := func() error { return ldap.Errorf(ldap.ResultInvalidCredentials, "invalid credentials") }
	dn, pws, err := t.getValues(ctx, norm, "userPassword")
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, invalid()
	}
	if err != nil {
		return Identity{}, storeErr(err)
	}
	for _, v := range pws {
		if ok, _ := VerifyPassword(v, password); ok {
			return Identity{DN: dn, Mechanism: "SIMPLE"}, nil
		}
	}
	return Identity{}, invalid()
}

// hashPasswords replaces clear-text userPassword values with argon2id
// hashes; values that already name a scheme ({SSHA}...) are kept, so
// hashes made elsewhere can be loaded.
func (t *Tree) hashPasswords(attrs []Attribute) ([]Attribute, error) {
	for i, a := range attrs {
		d, _, err := t.schema.parseAttrDesc(a.Type)
		if err != nil || d.at == nil || d.at.OID != "2.5.4.35" {
			continue
		}
		var nv [][]byte
		for j, v := range a.Values {
			if hasScheme(v) {
				continue
			}
			if nv == nil {
				nv = append([][]byte(nil), a.Values...)
			}
			h, err := HashPassword(v, t.rand)
			if err != nil {
				return nil, ldap.Errorf(ldap.ResultOther, "%v", err)
			}
			nv[j] = []byte(h)
		}
		if nv != nil {
			attrs[i].Values = nv
		}
	}
	return attrs, nil
}

func hasScheme(v []byte) bool {
	s := string(v)
	if !strings.HasPrefix(s, "{") {
		return false
	}
	end := strings.IndexByte(s, '}')
	return end > 1 && isDescr(strings.ReplaceAll(s[1:end], "-", ""))
}

// PasswordModify is RFC 3062's operation: user ("" = the caller) gets
// newPassword, or a generated one (returned) when newPassword is empty.
// When oldPassword is given it must verify. Anonymous callers are refused
// (unwillingToPerform); changing another user's password needs write
// access to it (insufficientAccessRights).
func (t *Tree) PasswordModify(ctx context.Context, id Identity, user string, oldPassword, newPassword []byte) (generated []byte, err error) {
	if user == "" {
		if id.Anonymous() {
			return nil, ldap.Errorf(ldap.ResultUnwillingToPerform, "only authenticated users may change passwords")
		}
		user = id.DN
	}
	_, norm, err := t.parseDN(user)
	if err != nil {
		return nil, err
	}
	idNorm, _ := NormalizeDN(t.schema, id.DN)
	if norm != idNorm && !t.allowed(ctx, id, RightWrite, norm, t.schema.Attribute("userPassword")) {
		return nil, ldap.Errorf(ldap.ResultInsufficientAccessRights, "no write access to the password of %q", user)
	}
	if id.Anonymous() {
		return nil, ldap.Errorf(ldap.ResultUnwillingToPerform, "only authenticated users may change passwords")
	}
	if len(oldPassword) > 0 {
		if _, err := t.Bind(ctx, user, oldPassword); err != nil {
			return nil, ldap.Errorf(ldap.ResultUnwillingToPerform, "the old password does not match")
		}
	}
	if len(newPassword) == 0 {
		const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
		b := make([]byte, 16)
		if _, err := t.rand.Read(b); err != nil {
			return nil, ldap.Errorf(ldap.ResultOther, "generate password: %v", err)
		}
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		newPassword, generated = b, b
	}
	h, err := HashPassword(newPassword, t.rand)
	if err != nil {
		return nil, ldap.Errorf(ldap.ResultOther, "%v", err)
	}
	err = t.modifyInternal(ctx, id, user, []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "userPassword", Values: [][]byte{[]byte(h)}}}})
	return generated, err
}

// modifyInternal is Modify without the access check (the caller did it).
func (t *Tree) modifyInternal(ctx context.Context, id Identity, dn string, changes []ldap.Change) error {
	return t.modify(ctx, id, dn, changes, false)
}
