package ldap

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// bx turns test notation into bytes: hex octets separated by spaces, and
// 'quoted text' for its ASCII bytes, so vectors read like a BER dump.
func bx(t testing.TB, s string) []byte {
	if t == nil {
		t = panicTB{}
	}
	t.Helper()
	var out []byte
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \n\t")
		if s == "" {
			break
		}
		if s[0] == '\'' {
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			out = append(out, s[1:1+end]...)
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \n\t")
		if end < 0 {
			end = len(s)
		}
		tok, rest := s[:end], s[end:]
		b, err := hex.DecodeString(tok)
		if err != nil {
			t.Fatalf("bad hex %q: %v", tok, err)
		}
		out = append(out, b...)
		s = rest
	}
	return out
}

// panicTB lets package-level test vectors use bx.
type panicTB struct{ testing.TB }

func (panicTB) Helper()                           {}
func (panicTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
