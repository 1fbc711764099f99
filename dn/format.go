package dn

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String formats rdns (ASN.1 order, most significant first) as an RFC 4514
// string, most significant RDN last, the way Go's pkix.Name.String does but
// with the short names people use (CN, O, OU, C, L, ST, STREET, DC, UID,
// emailAddress, serialNumber, ...). Values of types without a name, and
// values that are not strings, are written as #hex of their DER
// (RFC 4514 §2.4).
func String(rdns pkix.RDNSequence) string {
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i < len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, atv := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeATV(&b, atv, TypeName(atv.Type))
		}
	}
	return b.String()
}

func writeATV(b *strings.Builder, atv pkix.AttributeTypeAndValue, name string) {
	b.WriteString(name)
	b.WriteByte('=')
	v, isString := atv.Value.(string)
	if !isString || byOID[atv.Type.String()] == nil {
		der, err := marshalValue(atv)
		if err != nil {
			der = nil
		}
		b.WriteByte('#')
		b.WriteString(hex.EncodeToString(der))
		return
	}
	b.WriteString(escape(v))
}

// escape applies RFC 4514 §2.4 escaping to a string value.
func escape(v string) string {
	var b strings.Builder
	for k, r := range v {
		switch {
		case strings.ContainsRune(`,+"\<>;`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == ' ' && (k == 0 || k == len(v)-1):
			b.WriteString(`\ `)
		case r == '#' && k == 0:
			b.WriteString(`\#`)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], r)
			for _, c := range buf[:n] {
				fmt.Fprintf(&b, `\%02X`, c)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Marshal returns the DER of rdns as a certificate's subject or issuer,
// with each value in the string type RFC 5280 expects: PrintableString for
// C, serialNumber and dnQualifier; IA5String for emailAddress and DC; for
// the others PrintableString when the value allows it, else UTF8String.
func Marshal(rdns pkix.RDNSequence) ([]byte, error) {
	out := make(rawRDNSequence, len(rdns))
	for i, rdn := range rdns {
		out[i] = make(rawRDNSET, len(rdn))
		for j, atv := range rdn {
			v, err := rawValue(atv)
			if err != nil {
				return nil, err
			}
			out[i][j] = rawATV{Type: atv.Type, Value: v}
		}
	}
	return asn1.Marshal(out)
}

type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rawRDNSequence []rawRDNSET

// rawRDNSET is a SET OF (encoding/asn1 keys on the "SET" suffix) and sorts
// its elements for DER.
type rawRDNSET []rawATV

func rawValue(atv pkix.AttributeTypeAndValue) (asn1.RawValue, error) {
	switch v := atv.Value.(type) {
	case string:
		tag := asn1.TagUTF8String
		if a := byOID[atv.Type.String()]; a != nil && a.tag != 0 {
			tag = a.tag
		} else if isPrintable(v) {
			tag = asn1.TagPrintableString
		}
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: []byte(v)}, nil
	case asn1.RawValue:
		return v, nil
	}
	der, err := asn1.Marshal(atv.Value)
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("encode %s value: %w", TypeName(atv.Type), err)
	}
	return asn1.RawValue{FullBytes: der}, nil
}

func marshalValue(atv pkix.AttributeTypeAndValue) ([]byte, error) {
	rv, err := rawValue(atv)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(rv)
}

// FromDER parses a DER-encoded Name (a certificate's RawSubject or
// RawIssuer). String values become Go strings; other values stay
// asn1.RawValue so they format and re-encode unchanged.
func FromDER(der []byte) (pkix.RDNSequence, error) {
	var raw rawRDNSequence
	rest, err := asn1.Unmarshal(der, &raw)
	if err != nil {
		return nil, fmt.Errorf("parse distinguished name: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("parse distinguished name: trailing data")
	}
	rdns := make(pkix.RDNSequence, len(raw))
	for i, rdn := range raw {
		rdns[i] = make(pkix.RelativeDistinguishedNameSET, len(rdn))
		for j, atv := range rdn {
			v, err := fromRaw(atv.Value)
			if err != nil {
				return nil, fmt.Errorf("parse distinguished name: %s: %w", TypeName(atv.Type), err)
			}
			if rv, ok := v.(asn1.RawValue); ok {
				v = asn1.RawValue{FullBytes: rv.FullBytes}
			}
			rdns[i][j] = pkix.AttributeTypeAndValue{Type: atv.Type, Value: v}
		}
	}
	return rdns, nil
}

// FormatDER formats a DER-encoded Name as an RFC 4514 string (String of
// FromDER).
func FormatDER(der []byte) (string, error) {
	rdns, err := FromDER(der)
	if err != nil {
		return "", err
	}
	return String(rdns), nil
}

// Normalize returns the comparison form of a DN string (either syntax
// Parse accepts): RFC 4514, types as lower-case short names or dotted OIDs,
// string values case-folded with leading and trailing spaces removed and
// inner runs of spaces collapsed (the basics of RFC 4518 caseIgnoreMatch),
// and the values of a multi-valued RDN sorted. Two DNs are the same name
// when their normal forms are equal.
func Normalize(s string) (string, error) {
	rdns, err := Parse(s)
	if err != nil {
		return "", err
	}
	return normalRDNs(rdns), nil
}

// NormalizeRDNs is Normalize for an already parsed name.
func NormalizeRDNs(rdns pkix.RDNSequence) string { return normalRDNs(rdns) }

func normalRDNs(rdns pkix.RDNSequence) string {
	parts := make([]string, 0, len(rdns))
	for i := len(rdns) - 1; i >= 0; i-- {
		avas := make([]string, 0, len(rdns[i]))
		for _, atv := range rdns[i] {
			name := strings.ToLower(TypeName(atv.Type))
			if v, ok := atv.Value.(string); ok && byOID[atv.Type.String()] != nil {
				atv.Value = foldValue(v)
			}
			var b strings.Builder
			writeATV(&b, atv, name)
			avas = append(avas, b.String())
		}
		sort.Strings(avas)
		parts = append(parts, strings.Join(avas, "+"))
	}
	return strings.Join(parts, ",")
}

func foldValue(v string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(v, unicode.IsSpace), " "))
}

// Equal reports whether a and b name the same entry by their normal forms.
// A string that does not parse equals nothing.
func Equal(a, b string) bool {
	na, err := Normalize(a)
	if err != nil {
		return false
	}
	nb, err := Normalize(b)
	return err == nil && na == nb
}
