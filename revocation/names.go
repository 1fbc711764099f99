package revocation

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"crypto/x509/pkix"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// GeneralName tags (RFC 5280 §4.2.1.6) used in distribution points.
const (
	tagDirectoryName = 4
	tagURI           = 6
)

// generalName is one GeneralName kept in its encoded form; for a
// directoryName, value holds the DER of the Name.
type generalName struct {
	tag   int
	value []byte
}

func (g generalName) equal(o generalName) bool {
	if g.tag != o.tag {
		return false
	}
	if g.tag == tagDirectoryName {
		return nameEqual(g.value, o.value)
	}
	return bytes.Equal(g.value, o.value)
}

func (g generalName) String() string {
	switch g.tag {
	case tagURI:
		return string(g.value)
	case tagDirectoryName:
		return "dirName:" + nameString(g.value)
	}
	return fmt.Sprintf("GeneralName[%d]", g.tag)
}

func anyNameMatches(a, b []generalName) bool {
	for _, x := range a {
		for _, y := range b {
			if x.equal(y) {
				return true
			}
		}
	}
	return false
}

// nameString renders a DER Name the way crypto/x509 does.
func nameString(der []byte) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 {
		return fmt.Sprintf("%X", der)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&seq)
	return n.String()
}

// nameEqual compares two DER-encoded Names: equal bytes, or the same
// attributes in the same order with string values equal after case folding
// and collapsing white space (the RFC 5280 §7.1 comparison, simplified to
// what real CAs need).
func nameEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var sa, sb pkix.RDNSequence
	if rest, err := asn1.Unmarshal(a, &sa); err != nil || len(rest) > 0 {
		return false
	}
	if rest, err := asn1.Unmarshal(b, &sb); err != nil || len(rest) > 0 {
		return false
	}
	if len(sa) != len(sb) {
		return false
	}
	for i := range sa {
		if len(sa[i]) != len(sb[i]) {
			return false
		}
		for j := range sa[i] {
			x, y := sa[i][j], sb[i][j]
			if !x.Type.Equal(y.Type) {
				return false
			}
			xs, ok1 := x.Value.(string)
			ys, ok2 := y.Value.(string)
			if !ok1 || !ok2 {
				return false
			}
			if foldSpace(xs) != foldSpace(ys) {
				return false
			}
		}
	}
	return true
}

func foldSpace(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// parseGeneralNames reads the contents of a GeneralNames SEQUENCE.
func parseGeneralNames(s cryptobyte.String) ([]generalName, error) {
	var names []generalName
	for !s.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1(&v, &tag) {
			return nil, errors.New("malformed GeneralName")
		}
		if tag&0x80 == 0 {
			return nil, errors.New("GeneralName is not context-specific")
		}
		n := generalName{tag: int(tag & 0x1f), value: append([]byte(nil), v...)}
		if n.tag == tagDirectoryName {
			// directoryName is EXPLICIT: the contents are a Name.
			var name cryptobyte.String
			if !v.ReadASN1Element(&name, cbasn1.SEQUENCE) || !v.Empty() {
				return nil, errors.New("malformed directoryName")
			}
			n.value = append([]byte(nil), name...)
		}
		names = append(names, n)
	}
	return names, nil
}

// Reason flag bits (RFC 5280 §4.2.1.13 ReasonFlags).
const allReasons reasonMask = 0x1fe // keyCompromise (1) .. aACompromise (8)

type reasonMask uint16

// parseReasonFlags reads the contents of a BIT STRING.
func parseReasonFlags(v []byte) (reasonMask, error) {
	if len(v) == 0 || v[0] > 7 || len(v) > 3 {
		return 0, errors.New("malformed ReasonFlags")
	}
	var m reasonMask
	for i := 0; i < 9 && i < (len(v)-1)*8; i++ {
		if v[1+i/8]&(0x80>>(i%8)) != 0 {
			m |= 1 << i
		}
	}
	m &= allReasons
	return m, nil
}

// dpName is a DistributionPointName: fullName, or nameRelativeToCRLIssuer
// resolved against the CRL issuer's name.
type dpName struct {
	full     []generalName
	relative []byte // DER of the RDN SET when nameRelativeToCRLIssuer
}

// resolve returns the names of the distribution point; a name relative to
// the CRL issuer is appended to issuerDER (RFC 5280 §4.2.1.13).
func (n *dpName) resolve(issuerDER []byte) []generalName {
	if n == nil {
		return nil
	}
	if n.relative == nil {
		return n.full
	}
	in := cryptobyte.String(issuerDER)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(seq)
		b.AddBytes(n.relative)
	})
	der, err := b.Bytes()
	if err != nil {
		return nil
	}
	return []generalName{{tag: tagDirectoryName, value: der}}
}

// parseDPName reads the explicit [0] DistributionPointName wrapper contents.
func parseDPName(s cryptobyte.String) (*dpName, error) {
	var v cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&v, &tag) || !s.Empty() {
		return nil, errors.New("malformed DistributionPointName")
	}
	switch tag {
	case cbasn1.Tag(0).ContextSpecific().Constructed():
		names, err := parseGeneralNames(v)
		if err != nil {
			return nil, err
		}
		return &dpName{full: names}, nil
	case cbasn1.Tag(1).ContextSpecific().Constructed():
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(v) })
		rdn, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		return &dpName{relative: rdn}, nil
	}
	return nil, errors.New("unknown DistributionPointName choice")
}

// distributionPoint is one entry of a CRLDistributionPoints or FreshestCRL
// extension (RFC 5280 §4.2.1.13, §4.2.1.15).
type distributionPoint struct {
	name      *dpName
	reasons   reasonMask // allReasons when absent
	crlIssuer []generalName
}

// uris returns the URIs of the distribution point's full name.
func (dp *distributionPoint) uris() []string {
	if dp.name == nil {
		return nil
	}
	var out []string
	for _, n := range dp.name.full {
		if n.tag == tagURI {
			out = append(out, string(n.value))
		}
	}
	return out
}

func parseDistributionPoints(der []byte) ([]distributionPoint, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("malformed CRLDistributionPoints")
	}
	var dps []distributionPoint
	for !seq.Empty() {
		var d cryptobyte.String
		if !seq.ReadASN1(&d, cbasn1.SEQUENCE) {
			return nil, errors.New("malformed DistributionPoint")
		}
		dp := distributionPoint{reasons: allReasons}
		var v cryptobyte.String
		var ok bool
		if !d.ReadOptionalASN1(&v, &ok, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return nil, errors.New("malformed distributionPoint")
		}
		if ok {
			n, err := parseDPName(v)
			if err != nil {
				return nil, err
			}
			dp.name = n
		}
		if !d.ReadOptionalASN1(&v, &ok, cbasn1.Tag(1).ContextSpecific()) {
			return nil, errors.New("malformed reasons")
		}
		if ok {
			m, err := parseReasonFlags(v)
			if err != nil {
				return nil, err
			}
			dp.reasons = m
		}
		if !d.ReadOptionalASN1(&v, &ok, cbasn1.Tag(2).ContextSpecific().Constructed()) {
			return nil, errors.New("malformed cRLIssuer")
		}
		if ok {
			names, err := parseGeneralNames(v)
			if err != nil {
				return nil, err
			}
			dp.crlIssuer = names
		}
		if !d.Empty() {
			return nil, errors.New("trailing data in DistributionPoint")
		}
		if dp.name == nil && dp.crlIssuer == nil {
			return nil, errors.New("DistributionPoint has neither distributionPoint nor cRLIssuer")
		}
		dps = append(dps, dp)
	}
	return dps, nil
}

// issuingDP is the IssuingDistributionPoint CRL extension (RFC 5280 §5.2.5).
type issuingDP struct {
	name                 *dpName
	onlyUser, onlyCA     bool
	onlySomeReasons      reasonMask // allReasons when absent
	indirect, onlyAttrCA bool
}

func parseIssuingDP(der []byte) (*issuingDP, error) {
	in := cryptobyte.String(der)
	var s cryptobyte.String
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("malformed IssuingDistributionPoint")
	}
	idp := &issuingDP{onlySomeReasons: allReasons}
	var v cryptobyte.String
	var ok bool
	if !s.ReadOptionalASN1(&v, &ok, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, errors.New("malformed IssuingDistributionPoint distributionPoint")
	}
	if ok {
		n, err := parseDPName(v)
		if err != nil {
			return nil, err
		}
		idp.name = n
	}
	readBool := func(tag int, dst *bool) error {
		if !s.ReadOptionalASN1(&v, &ok, cbasn1.Tag(tag).ContextSpecific()) {
			return errors.New("malformed IssuingDistributionPoint")
		}
		if ok {
			if len(v) != 1 || (v[0] != 0 && v[0] != 0xff) {
				return errors.New("malformed BOOLEAN in IssuingDistributionPoint")
			}
			*dst = v[0] == 0xff
		}
		return nil
	}
	if err := readBool(1, &idp.onlyUser); err != nil {
		return nil, err
	}
	if err := readBool(2, &idp.onlyCA); err != nil {
		return nil, err
	}
	if !s.ReadOptionalASN1(&v, &ok, cbasn1.Tag(3).ContextSpecific()) {
		return nil, errors.New("malformed onlySomeReasons")
	}
	if ok {
		m, err := parseReasonFlags(v)
		if err != nil {
			return nil, err
		}
		idp.onlySomeReasons = m
	}
	if err := readBool(4, &idp.indirect); err != nil {
		return nil, err
	}
	if err := readBool(5, &idp.onlyAttrCA); err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, errors.New("trailing data in IssuingDistributionPoint")
	}
	if idp.onlyUser && idp.onlyCA || idp.onlyUser && idp.onlyAttrCA || idp.onlyCA && idp.onlyAttrCA {
		return nil, errors.New("IssuingDistributionPoint asserts more than one onlyContains flag")
	}
	return idp, nil
}
