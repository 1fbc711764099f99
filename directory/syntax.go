package directory

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// validators check values against the LDAP syntaxes of RFC 4517 §3.3 that
// pkid checks; values of other syntaxes are accepted as they are.
var validators = map[string]func([]byte) error{
	"1.3.6.1.4.1.1466.115.121.1.15": validDirectoryString,
	"1.3.6.1.4.1.1466.115.121.1.41": validDirectoryString, // Postal Address: lines of Directory String
	"1.3.6.1.4.1.1466.115.121.1.26": validIA5,
	"1.3.6.1.4.1.1466.115.121.1.44": validPrintable,
	"1.3.6.1.4.1.1466.115.121.1.50": validPrintable, // Telephone Number
	"1.3.6.1.4.1.1466.115.121.1.11": func(v []byte) error {
		if len(v) != 2 {
			return errors.New("a country string has two letters")
		}
		return validPrintable(v)
	},
	"1.3.6.1.4.1.1466.115.121.1.36": func(v []byte) error {
		if len(v) == 0 {
			return errors.New("empty numeric string")
		}
		for _, c := range v {
			if c != ' ' && (c < '0' || c > '9') {
				return fmt.Errorf("%q is not a digit or space", c)
			}
		}
		return nil
	},
	"1.3.6.1.4.1.1466.115.121.1.27": func(v []byte) error {
		if !validInteger(string(v)) {
			return errors.New("not an integer (optional '-', digits, no leading zeros)")
		}
		return nil
	},
	"1.3.6.1.4.1.1466.115.121.1.7": func(v []byte) error {
		if s := string(v); s != "TRUE" && s != "FALSE" {
			return errors.New("a Boolean is TRUE or FALSE")
		}
		return nil
	},
	"1.3.6.1.4.1.1466.115.121.1.24": func(v []byte) error {
		if _, ok := parseGeneralizedTime(string(v)); !ok {
			return errors.New("not a GeneralizedTime (YYYYMMDDHH[MM[SS]][.fff](Z|±hh[mm]))")
		}
		return nil
	},
	"1.3.6.1.4.1.1466.115.121.1.12": func(v []byte) error {
		_, err := ParseDN(string(v))
		return err
	},
	"1.3.6.1.4.1.1466.115.121.1.34": func(v []byte) error {
		_, ok := uniqueMemberNorm(nil, v)
		if !ok {
			return errors.New("not a DN with an optional #'bits'B identifier")
		}
		return nil
	},
	"1.3.6.1.4.1.1466.115.121.1.38": func(v []byte) error {
		if s := string(v); !isNumericOID(s) && !isDescr(s) {
			return errors.New("not an OID or descriptor")
		}
		return nil
	},
	"1.3.6.1.4.1.1466.115.121.1.8":  validDER, // Certificate
	"1.3.6.1.4.1.1466.115.121.1.9":  validDER, // Certificate List
	"1.3.6.1.4.1.1466.115.121.1.10": validDER, // Certificate Pair
	"1.3.6.1.1.16.1": func(v []byte) error {
		s := string(v)
		if len(s) != 36 {
			return errors.New("a UUID is 36 characters (8-4-4-4-12 hex digits)")
		}
		for i := 0; i < len(s); i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return errors.New("a UUID is 8-4-4-4-12 hex digits")
				}
			} else if !isHex(s[i]) {
				return errors.New("a UUID is 8-4-4-4-12 hex digits")
			}
		}
		return nil
	},
}

// ValidateValue checks v against the syntax of attribute type a.
func ValidateValue(a *AttributeType, v []byte) error {
	if a.Syntax == nil {
		return nil
	}
	if f := validators[a.Syntax.OID]; f != nil {
		if err := f(v); err != nil {
			return err
		}
	}
	return nil
}

func validDirectoryString(v []byte) error {
	if len(v) == 0 {
		return errors.New("empty value (a Directory String has at least one character)")
	}
	if !utf8.Valid(v) {
		return errors.New("not UTF-8")
	}
	return nil
}

func validIA5(v []byte) error {
	for _, c := range v {
		if c >= 0x80 {
			return errors.New("not IA5 (ASCII)")
		}
	}
	return nil
}

func validPrintable(v []byte) error {
	if len(v) == 0 {
		return errors.New("empty printable string")
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" '()+,-./:?=", c) >= 0) {
			return fmt.Errorf("%q is not a printable-string character", c)
		}
	}
	return nil
}

func validInteger(s string) bool {
	if strings.HasPrefix(s, "-") {
		s = s[1:]
		if s == "0" {
			return false
		}
	}
	if !allDigits(s) {
		return false
	}
	return s == "0" || s[0] != '0'
}

// validDER accepts one complete DER SEQUENCE (certificates and CRLs are
// checked for shape, not parsed: a CRL a CA publishes must be stored even if
// Go's parser dislikes a detail of it).
func validDER(v []byte) error {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(v, &raw)
	if err != nil {
		return fmt.Errorf("not DER: %v (binary values are sent with the ;binary option)", err)
	}
	if len(rest) > 0 || raw.Tag != asn1.TagSequence || !raw.IsCompound {
		return errors.New("not a DER SEQUENCE")
	}
	return nil
}
