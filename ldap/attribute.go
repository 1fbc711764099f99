package ldap

import (
	"errors"
	"fmt"
	"strings"
)

// AttributeDescription is an attribute type with options (RFC 4512 §2.5),
// such as "certificateRevocationList;binary" or "cn;lang-en".
type AttributeDescription struct {
	Type    string   // a descriptor ("cn") or numeric OID ("2.5.4.3")
	Options []string // in the order given; compare case-insensitively
}

// ParseAttributeDescription parses s as
// attributedescription = attributetype options (RFC 4512 §2.5).
func ParseAttributeDescription(s string) (AttributeDescription, error) {
	if err := checkAttributeDescription(s); err != nil {
		return AttributeDescription{}, fmt.Errorf("ldap: attribute description %q: %w", s, err)
	}
	parts := strings.Split(s, ";")
	ad := AttributeDescription{Type: parts[0]}
	if len(parts) > 1 {
		ad.Options = parts[1:]
	}
	return ad, nil
}

// String returns the description in RFC 4512 form.
func (ad AttributeDescription) String() string {
	if len(ad.Options) == 0 {
		return ad.Type
	}
	return ad.Type + ";" + strings.Join(ad.Options, ";")
}

// HasOption reports whether ad carries option (case-insensitively, as
// RFC 4512 §2.5 compares options).
func (ad AttributeDescription) HasOption(option string) bool {
	for _, o := range ad.Options {
		if strings.EqualFold(o, option) {
			return true
		}
	}
	return false
}

func checkAttributeDescription(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	typ, opts, _ := strings.Cut(s, ";")
	if !isOID(typ) {
		return errors.New("type is neither a descriptor nor a numeric OID")
	}
	if strings.Contains(s, ";") {
		for _, o := range strings.Split(opts, ";") {
			if o == "" {
				return errors.New("empty option")
			}
			for i := 0; i < len(o); i++ {
				if !isKeychar(o[i]) {
					return fmt.Errorf("option %q has character %q", o, o[i])
				}
			}
		}
	}
	return nil
}

// isOID reports whether s is an RFC 4512 oid: a descr (keystring) or a
// numericoid.
func isOID(s string) bool {
	if s == "" {
		return false
	}
	if isAlpha(s[0]) {
		for i := 1; i < len(s); i++ {
			if !isKeychar(s[i]) {
				return false
			}
		}
		return true
	}
	for _, arc := range strings.Split(s, ".") {
		if arc == "" || (len(arc) > 1 && arc[0] == '0') {
			return false
		}
		for i := 0; i < len(arc); i++ {
			if arc[i] < '0' || arc[i] > '9' {
				return false
			}
		}
	}
	return strings.Contains(s, ".")
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isKeychar(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' || c == '-' }
