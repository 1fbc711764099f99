package ldap

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/pkid/pkid/internal/ber"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seed corpora under testdata/fuzz from the test vectors")

// fuzzLimit keeps fuzzed messages small so the limit itself is exercised.
const fuzzLimit = 4096

// roundTrip checks decode(encode(m)) == m for a decoded message.
func roundTrip(t *testing.T, m *Message) {
	t.Helper()
	enc, err := m.Marshal()
	if err != nil {
		t.Fatalf("decoded message does not encode: %v\n%#v", err, m.Op)
	}
	m2, err := DecodeMessage(enc)
	if err != nil {
		t.Fatalf("re-encoded message does not decode: %v\n% x", err, enc)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip changed the message:\n%#v\n%#v", m.Op, m2.Op)
	}
}

func checkProtocolError(t *testing.T, err error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a *ProtocolError", err, err)
	}
	if r := pe.Response(); r != nil {
		if _, err := r.Marshal(); err != nil {
			t.Fatalf("error response does not encode: %v", err)
		}
	}
}

func FuzzReadMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// Framing: whatever the claimed length, the buffer never exceeds
		// the limit.
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			pkt, err := ber.ReadPacket(r, ber.TagSequence, fuzzLimit)
			if err != nil {
				break
			}
			if cap(pkt) > fuzzLimit {
				t.Fatalf("packet buffer of %d bytes over a %d limit", cap(pkt), fuzzLimit)
			}
		}
		r = bufio.NewReader(bytes.NewReader(data))
		for {
			m, err := ReadMessage(r, fuzzLimit)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					checkProtocolError(t, err)
				}
				return
			}
			roundTrip(t, m)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
		if err != nil {
			checkProtocolError(t, err)
			return
		}
		roundTrip(t, m)
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			var fe *FilterSyntaxError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T", err)
			}
			return
		}
		str := flt.String()
		again, err := ParseFilter(str)
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", str, s, err)
		}
		if !reflect.DeepEqual(flt, again) {
			t.Fatalf("%q -> %q changed the filter", s, str)
		}
		enc, err := flt.Encode()
		if err != nil {
			t.Fatalf("parsed filter %q does not encode: %v", s, err)
		}
		dec, err := DecodeFilter(enc)
		if err != nil {
			t.Fatalf("encoded filter %q does not decode: %v", s, err)
		}
		if !reflect.DeepEqual(flt, dec) {
			t.Fatalf("BER round trip of %q changed it to %q", s, dec.String())
		}
	})
}

func FuzzDecodeFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := DecodeFilter(data)
		if err != nil {
			return
		}
		enc, err := flt.Encode()
		if err != nil {
			t.Fatalf("decoded filter does not encode: %v", err)
		}
		again, err := DecodeFilter(enc)
		if err != nil {
			t.Fatalf("re-encoded filter does not decode: %v", err)
		}
		if !reflect.DeepEqual(flt, again) {
			t.Fatalf("round trip changed %s to %s", flt.String(), again.String())
		}
		_ = flt.String()
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpora from the test
// vectors: go test ./ldap -run TestWriteFuzzSeeds -update-seeds
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz")
	}
	write := func(target, name string, v any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var lit string
		switch v := v.(type) {
		case []byte:
			lit = "[]byte(" + strconv.Quote(string(v)) + ")"
		case string:
			lit = "string(" + strconv.Quote(v) + ")"
		}
		body := fmt.Sprintf("go test fuzz v1\n%s\n", lit)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stream []byte
	for i, v := range messageVectors {
		b := bx(t, v.hex)
		write("FuzzDecodeMessage", fmt.Sprintf("vector-%02d", i), b)
		write("FuzzReadMessage", fmt.Sprintf("vector-%02d", i), b)
		stream = append(stream, b...)
	}
	write("FuzzReadMessage", "stream", stream)
	write("FuzzReadMessage", "gigabyte-claim", bx(t, "30 84 40 00 00 00 02 01 01"))
	write("FuzzReadMessage", "indefinite", bx(t, "30 80 02 01 01 42 00 00 00"))
	write("FuzzReadMessage", "ad-style-lengths", bx(t, "30 84 00 00 00 09 02 01 05 42 84 00 00 00 00"))
	for i, v := range filterVectors {
		write("FuzzParseFilter", fmt.Sprintf("vector-%02d", i), v.in)
		write("FuzzDecodeFilter", fmt.Sprintf("vector-%02d", i), bx(t, v.ber))
	}
	for i, u := range []string{
		"ldap://ldap.example.com/cn=SSCA256,ou=CA,o=SSS,c=GB?certificateRevocationList;binary",
		"ldaps://127.0.0.1:1636/dc=example,dc=com?cn,mail?sub?(uid=jane)",
		"ldap://[::1]/o=University%20of%20Michigan,c=US",
		"ldap:///??sub??bindname=cn=Manager%2cdc=example%2cdc=com",
		"ldap://h/o=Q%3F?cn?one?(cn=a%3fb)?!x-crit",
		"ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi/",
	} {
		write("FuzzParseURL", fmt.Sprintf("url-%02d", i), u)
	}
	write("FuzzParseFilter", "nested", "(&(|(a=1)(!(b=*)))(c~=d)(e:dn:1.2.3:=f\\2a)(g=h*i*j))")
}

func FuzzParseURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		str := u.String()
		if len(str) > MaxURLLength {
			return // escaping can grow a URL past the limit
		}
		again, err := ParseURL(str)
		if err != nil {
			t.Fatalf("String() %.200q of %.200q does not parse: %v", str, s, err)
		}
		if !reflect.DeepEqual(u, again) {
			t.Fatalf("%.200q -> %.200q changed the URL:\n%+v\n%+v", s, str, u, again)
		}
		_ = u.Addr()
	})
}
