package berbench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"testing"

	asn1ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/pkid/pkid/ldap"
)

// The same messages as pkid's own ldap benchmarks.
func search() *ldap.Message {
	return &ldap.Message{ID: 42, Op: &ldap.SearchRequest{
		BaseObject: "ou=people,dc=example,dc=com",
		Scope:      ldap.ScopeWholeSubtree,
		SizeLimit:  100,
		Filter: ldap.Filter{Type: ldap.FilterAnd, Children: []ldap.Filter{
			{Type: ldap.FilterEqualityMatch, Attr: "objectClass", Value: []byte("inetOrgPerson")},
			{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: []byte("user1234")},
		}},
		Attributes: []string{"cn", "mail", "uidNumber"},
	}}
}

var entryAttrs = []ldap.Attribute{
	{Type: "objectClass", Values: vals("top", "person", "organizationalPerson", "inetOrgPerson")},
	{Type: "uid", Values: vals("user1234")},
	{Type: "cn", Values: vals("User 1234")},
	{Type: "sn", Values: vals("1234")},
	{Type: "givenName", Values: vals("User")},
	{Type: "mail", Values: vals("user1234@example.com")},
	{Type: "telephoneNumber", Values: vals("+44 20 7946 1234")},
	{Type: "description", Values: vals("Benchmark user number 1234 in the people branch")},
}

const entryDN = "uid=user1234,ou=people,dc=example,dc=com"

func vals(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = []byte(s[i])
	}
	return out
}

func wire(tb testing.TB) []byte {
	b, err := search().Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// goASN1Search decodes a SearchRequest with go-asn1-ber the way go-ldap
// based servers do: build the packet tree, then walk it into a struct.
func goASN1Search(data []byte) (*ldap.Message, error) {
	p, err := asn1ber.DecodePacketErr(data)
	if err != nil {
		return nil, err
	}
	return goASN1Walk(p)
}

func goASN1Walk(p *asn1ber.Packet) (*ldap.Message, error) {
	var err error
	if len(p.Children) < 2 {
		return nil, errors.New("short message")
	}
	id, ok := p.Children[0].Value.(int64)
	if !ok {
		return nil, errors.New("bad id")
	}
	op := p.Children[1]
	if op.Tag != 3 || len(op.Children) != 8 {
		return nil, errors.New("not a search")
	}
	c := op.Children
	r := &ldap.SearchRequest{BaseObject: c[0].Data.String()}
	scope, _ := c[1].Value.(int64)
	deref, _ := c[2].Value.(int64)
	size, _ := c[3].Value.(int64)
	tl, _ := c[4].Value.(int64)
	r.Scope, r.DerefAliases, r.SizeLimit, r.TimeLimit = ldap.Scope(scope), ldap.DerefAliases(deref), int32(size), int32(tl)
	r.TypesOnly, _ = c[5].Value.(bool)
	if r.Filter, err = goASN1Filter(c[6]); err != nil {
		return nil, err
	}
	for _, a := range c[7].Children {
		r.Attributes = append(r.Attributes, a.Data.String())
	}
	return &ldap.Message{ID: int32(id), Op: r}, nil
}

func goASN1Filter(p *asn1ber.Packet) (ldap.Filter, error) {
	f := ldap.Filter{Type: ldap.FilterType(p.Tag)}
	switch f.Type {
	case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
		for _, c := range p.Children {
			cf, err := goASN1Filter(c)
			if err != nil {
				return f, err
			}
			f.Children = append(f.Children, cf)
		}
	case ldap.FilterPresent:
		f.Attr = p.Data.String()
	case ldap.FilterEqualityMatch, ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual, ldap.FilterApproxMatch:
		if len(p.Children) != 2 {
			return f, errors.New("bad ava")
		}
		f.Attr = p.Children[0].Data.String()
		f.Value = p.Children[1].Data.Bytes()
	default:
		return f, fmt.Errorf("filter %d not needed here", f.Type)
	}
	return f, nil
}

func goASN1Entry() []byte {
	env := asn1ber.Encode(asn1ber.ClassUniversal, asn1ber.TypeConstructed, asn1ber.TagSequence, nil, "LDAP Response")
	env.AppendChild(asn1ber.NewInteger(asn1ber.ClassUniversal, asn1ber.TypePrimitive, asn1ber.TagInteger, int64(42), "MessageID"))
	e := asn1ber.Encode(asn1ber.ClassApplication, asn1ber.TypeConstructed, 4, nil, "Search Result Entry")
	e.AppendChild(asn1ber.NewString(asn1ber.ClassUniversal, asn1ber.TypePrimitive, asn1ber.TagOctetString, entryDN, "DN"))
	list := asn1ber.Encode(asn1ber.ClassUniversal, asn1ber.TypeConstructed, asn1ber.TagSequence, nil, "Attributes")
	for _, a := range entryAttrs {
		s := asn1ber.Encode(asn1ber.ClassUniversal, asn1ber.TypeConstructed, asn1ber.TagSequence, nil, "Attribute")
		s.AppendChild(asn1ber.NewString(asn1ber.ClassUniversal, asn1ber.TypePrimitive, asn1ber.TagOctetString, a.Type, "Type"))
		set := asn1ber.Encode(asn1ber.ClassUniversal, asn1ber.TypeConstructed, asn1ber.TagSet, nil, "Values")
		for _, v := range a.Values {
			set.AppendChild(asn1ber.NewString(asn1ber.ClassUniversal, asn1ber.TypePrimitive, asn1ber.TagOctetString, string(v), "Value"))
		}
		s.AppendChild(set)
		list.AppendChild(s)
	}
	e.AppendChild(list)
	env.AppendChild(e)
	return env.Bytes()
}

// Both decoders must agree before their speed is compared.
func TestSameResult(t *testing.T) {
	w := wire(t)
	a, err := ldap.DecodeMessage(w)
	if err != nil {
		t.Fatal(err)
	}
	b, err := goASN1Search(w)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", a.Op) != fmt.Sprintf("%+v", b.Op) {
		t.Fatalf("pkid %+v\ngo-asn1-ber %+v", a.Op, b.Op)
	}
	m := &ldap.Message{ID: 42, Op: &ldap.SearchResultEntry{ObjectName: entryDN, Attributes: entryAttrs}}
	ours, _ := m.Marshal()
	if theirs := goASN1Entry(); !bytes.Equal(ours, theirs) {
		t.Fatalf("entries differ:\n% x\n% x", ours, theirs)
	}
}

func BenchmarkDecodeSearchRequest(b *testing.B) {
	w := wire(b)
	b.Run("pkid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ldap.DecodeMessage(w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-asn1-ber", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := goASN1Search(w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkReadMessage(b *testing.B) {
	one := wire(b)
	stream := bytes.Repeat(one, 100)
	b.Run("pkid", func(b *testing.B) {
		b.ReportAllocs()
		rd := bytes.NewReader(stream)
		br := bufio.NewReader(rd)
		for b.Loop() {
			if _, err := ldap.ReadMessage(br, 0); err != nil {
				rd.Reset(stream)
				br.Reset(rd)
			}
		}
	})
	b.Run("go-asn1-ber", func(b *testing.B) {
		b.ReportAllocs()
		rd := bytes.NewReader(stream)
		br := bufio.NewReader(rd)
		for b.Loop() {
			p, err := asn1ber.ReadPacket(br)
			if err != nil {
				rd.Reset(stream)
				br.Reset(rd)
				continue
			}
			// ReadPacket returns a tree; a server then walks it.
			if _, err := goASN1Walk(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeSearchResultEntry(b *testing.B) {
	m := &ldap.Message{ID: 42, Op: &ldap.SearchResultEntry{ObjectName: entryDN, Attributes: entryAttrs}}
	b.Run("pkid", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			if _, err := m.Append(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-asn1-ber", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			goASN1Entry()
		}
	})
}
