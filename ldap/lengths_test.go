package ldap

import (
	"reflect"
	"testing"

	"github.com/pkid/pkid/internal/ber"
)

// longForm re-encodes a BER element with every length in the 4-octet long
// form, as Active Directory and some older liblber builds send.
func longForm(t *testing.T, b []byte) []byte {
	t.Helper()
	d := ber.NewDecoder(b, 64)
	var out []byte
	for !d.Empty() {
		tag, c, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ber.IsConstructed(tag) {
			c = longForm(t, c)
		}
		n := len(c)
		out = append(out, tag, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		out = append(out, c...)
	}
	return out
}

func TestNonMinimalLengths(t *testing.T) {
	for _, v := range messageVectors {
		wire := longForm(t, bx(t, v.hex))
		got, err := DecodeMessage(wire)
		if err != nil {
			t.Fatalf("%s with long-form lengths: %v", v.name, err)
		}
		if !reflect.DeepEqual(*got, v.msg) {
			t.Errorf("%s with long-form lengths decoded differently", v.name)
		}
	}
}

// Strings are copies; byte values alias the packet (documented contract).
func TestDecodeAliasing(t *testing.T) {
	wire := bx(t, `30 1a 02 01 01 60 15 02 01 03 04 08 'cn=admin' 80 06 'secret'`)
	m, err := DecodeMessage(wire)
	if err != nil {
		t.Fatal(err)
	}
	for i := range wire {
		wire[i] = 'X'
	}
	b := m.Op.(*BindRequest)
	if b.Name != "cn=admin" {
		t.Errorf("Name changed with the buffer: %q", b.Name)
	}
	if string(b.Password) != "XXXXXX" {
		t.Errorf("Password does not alias the buffer: %q", b.Password)
	}
}
