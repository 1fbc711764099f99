package ldap

import (
	"errors"
	"fmt"

	"github.com/pkid/pkid/internal/ber"
)

// Object identifiers of controls pkid's clients send.
const (
	OIDPagedResults     = "1.2.840.113556.1.4.319"   // RFC 2696
	OIDManageDsaIT      = "2.16.840.1.113730.3.4.2"  // RFC 3296
	OIDProxiedAuthz     = "2.16.840.1.113730.3.4.18" // RFC 4370
	OIDAssertion        = "1.3.6.1.1.12"             // RFC 4528
	OIDAuthzIDRequest   = "2.16.840.1.113730.3.4.16" // RFC 3829
	OIDSubtreeDelete    = "1.2.840.113556.1.4.805"   // draft-armijo-ldap-treedelete
	OIDPermissiveModify = "1.2.840.113556.1.4.1413"  // Active Directory, OpenLDAP
)

// PagedResults is the value of the simple paged results control (RFC 2696
// §2): realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt),
// cookie OCTET STRING }. In a request Size is the page size; in a response
// it is the server's estimate of the result set size (0 when unknown).
type PagedResults struct {
	Size   int32
	Cookie []byte
}

// DecodePagedResults decodes a paged results control value.
func DecodePagedResults(v []byte) (*PagedResults, error) {
	d := ber.NewDecoder(v, 2)
	s, err := d.Enter(ber.TagSequence)
	if err != nil {
		return nil, fmt.Errorf("paged results control: %w", err)
	}
	size, err := s.Int(ber.TagInteger)
	if err != nil {
		return nil, fmt.Errorf("paged results control: %w", err)
	}
	if size < 0 || size > MaxMessageID {
		return nil, fmt.Errorf("paged results control: size %d out of range", size)
	}
	p := &PagedResults{Size: int32(size)}
	if p.Cookie, err = s.OctetString(ber.TagOctetString); err != nil {
		return nil, fmt.Errorf("paged results control: %w", err)
	}
	if err := s.End(); err != nil {
		return nil, fmt.Errorf("paged results control: %w", err)
	}
	if !d.Empty() {
		return nil, errors.New("paged results control: data after the value")
	}
	return p, nil
}

// Encode returns the control value for p.
func (p *PagedResults) Encode() []byte {
	e := ber.NewEncoder(make([]byte, 0, 8+len(p.Cookie)))
	m := e.Begin(ber.TagSequence)
	e.Int(ber.TagInteger, int64(p.Size))
	e.OctetString(ber.TagOctetString, p.Cookie)
	e.End(m)
	return e.Bytes()
}

// Control returns p as a paged results Control.
func (p *PagedResults) Control(critical bool) Control {
	return Control{OID: OIDPagedResults, Criticality: critical, Value: p.Encode()}
}
