package doctor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"

	"github.com/pkid/pkid/internal/tlsregistry"
)

func versionName(v uint16) string { return tlsregistry.Version(v).String() }

func suiteOf(code uint16) Suite {
	s := Suite{Code: code, Hex: fmt.Sprintf("%04X", code)}
	if rs, ok := tlsregistry.SuiteByCode(code); ok {
		s.IANA, s.OpenSSL, s.KeyExchange, s.Auth = rs.Name, rs.OpenSSL, rs.KeyExchange, rs.Auth
	} else {
		s.IANA = tls.CipherSuiteName(code)
	}
	return s
}

// String is "C02B TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (ECDHE-ECDSA-AES128-GCM-SHA256)".
func (s Suite) String() string {
	if s.OpenSSL == "" || s.OpenSSL == s.IANA {
		return s.Hex + " " + s.IANA
	}
	return s.Hex + " " + s.IANA + " (" + s.OpenSSL + ")"
}

func groupName(id uint16) string {
	if g, ok := tlsregistry.GroupByID(id); ok {
		return g.Name
	}
	if tlsregistry.IsGREASE(id) {
		return fmt.Sprintf("GREASE(%04X)", id)
	}
	return tls.CurveID(id).String()
}

func sigAlgName(code uint16) string {
	if s, ok := tlsregistry.SignatureSchemeByCode(code); ok {
		if s.OpenSSL != "" {
			return s.OpenSSL
		}
		return s.Name
	}
	return fmt.Sprintf("0x%04X", code)
}

func alertName(code uint8) string {
	if a, ok := tlsregistry.AlertByCode(code); ok {
		return a.Name
	}
	return fmt.Sprintf("alert(%d)", code)
}

// goAlertText is crypto/tls's wording of each alert ("remote error: tls:
// bad certificate"), for errors that lost their type.
var goAlertText = map[string]uint8{
	"close notify": 0, "unexpected message": 10, "bad record MAC": 20,
	"decryption failed": 21, "record overflow": 22, "decompression failure": 30,
	"handshake failure": 40, "bad certificate": 42, "unsupported certificate": 43,
	"revoked certificate": 44, "expired certificate": 45, "unknown certificate": 46,
	"illegal parameter": 47, "unknown certificate authority": 48, "access denied": 49,
	"error decoding message": 50, "error decrypting message": 51, "export restriction": 60,
	"protocol version not supported": 70, "insufficient security level": 71,
	"internal error": 80, "inappropriate fallback": 86, "user canceled": 90,
	"no renegotiation": 100, "missing extension": 109, "unsupported extension": 110,
	"certificate unobtainable": 111, "unrecognized name": 112,
	"bad certificate status response": 113, "bad certificate hash value": 114,
	"unknown PSK identity": 115, "certificate required": 116,
	"no application protocol": 120, "encrypted client hello required": 121,
}

// remoteAlert extracts the alert a peer sent from a crypto/tls error:
// crypto/tls returns a *net.OpError{Op: "remote error"} wrapping its
// unexported alert type (a uint8), whose text is "tls: bad certificate".
func remoteAlert(err error) (uint8, bool) {
	if err == nil {
		return 0, false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		if v := reflect.ValueOf(oe.Err); v.Kind() == reflect.Uint8 {
			return uint8(v.Uint()), true
		}
	}
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return uint8(ae), true
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "remote error: tls: "); i >= 0 {
		text := msg[i+len("remote error: tls: "):]
		if c, ok := goAlertText[text]; ok {
			return c, true
		}
		var n int
		if _, err := fmt.Sscanf(text, "alert(%d)", &n); err == nil && n >= 0 && n < 256 {
			return uint8(n), true
		}
	}
	return 0, false
}
