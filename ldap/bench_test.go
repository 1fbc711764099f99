package ldap

import (
	"bufio"
	"bytes"
	"testing"
)

// benchSearch is the search ldapload sends: an indexed equality lookup
// below a suffix, asking for two attributes, inside an and.
func benchSearch() *Message {
	return &Message{ID: 42, Op: &SearchRequest{
		BaseObject: "ou=people,dc=example,dc=com",
		Scope:      ScopeWholeSubtree,
		SizeLimit:  100,
		Filter: Filter{Type: FilterAnd, Children: []Filter{
			{Type: FilterEqualityMatch, Attr: "objectClass", Value: []byte("inetOrgPerson")},
			{Type: FilterEqualityMatch, Attr: "uid", Value: []byte("user1234")},
		}},
		Attributes: []string{"cn", "mail", "uidNumber"},
	}}
}

// benchEntry is an inetOrgPerson-like entry with 8 attributes.
func benchEntry() *Message {
	v := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i := range s {
			out[i] = []byte(s[i])
		}
		return out
	}
	return &Message{ID: 42, Op: &SearchResultEntry{
		ObjectName: "uid=user1234,ou=people,dc=example,dc=com",
		Attributes: []Attribute{
			{Type: "objectClass", Values: v("top", "person", "organizationalPerson", "inetOrgPerson")},
			{Type: "uid", Values: v("user1234")},
			{Type: "cn", Values: v("User 1234")},
			{Type: "sn", Values: v("1234")},
			{Type: "givenName", Values: v("User")},
			{Type: "mail", Values: v("user1234@example.com")},
			{Type: "telephoneNumber", Values: v("+44 20 7946 1234")},
			{Type: "description", Values: v("Benchmark user number 1234 in the people branch")},
		},
	}}
}

func mustMarshal(b *testing.B, m *Message) []byte {
	buf, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return buf
}

func BenchmarkDecodeSearchRequest(b *testing.B) {
	wire := mustMarshal(b, benchSearch())
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessage(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSearchResultEntry(b *testing.B) {
	m := benchEntry()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := m.Append(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}

// BenchmarkReadMessage frames and decodes a stream of search requests the
// way a connection reader does.
func BenchmarkReadMessage(b *testing.B) {
	one := mustMarshal(b, benchSearch())
	stream := bytes.Repeat(one, 100)
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	rd := bytes.NewReader(stream)
	br := bufio.NewReader(rd)
	for b.Loop() {
		if _, err := ReadMessage(br, 0); err != nil {
			rd.Reset(stream)
			br.Reset(rd)
			if _, err := ReadMessage(br, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}
