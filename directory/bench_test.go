package directory

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/pkid/pkid/ldap"
)

// benchLDIF is the LDIF of /work/shared/bench/peers/slapd.sh: n
// inetOrgPerson users with {SSHA} passwords under ou=people,o=bench.
func benchLDIF(n int) []byte {
	var b bytes.Buffer
	b.WriteString("dn: o=bench\nobjectClass: organization\no: bench\n\ndn: ou=people,o=bench\nobjectClass: organizationalUnit\nou: people\n\n")
	for i := 0; i < n; i++ {
		salt := []byte{byte(i), byte(i >> 8), 3, 4, 5, 6, 7, 8}
		h := sha1.Sum(append([]byte(fmt.Sprintf("pw%d", i)), salt...))
		fmt.Fprintf(&b, "dn: uid=user%d,ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@bench.example\nuserPassword: {SSHA}%s\n\n",
			i, i, i, i, i, base64.StdEncoding.EncodeToString(append(h[:], salt...)))
	}
	return b.Bytes()
}

// BenchmarkImport10k imports 10,000 entries per iteration into a new store
// (bench/ldif-compare.sh runs the 100,000-entry comparison with slapadd).
func BenchmarkImport10k(b *testing.B) { benchImport(b, 10000) }

// BenchmarkImport100k is the size: 100,000 entries per iteration
// (run with -benchtime 1x; about ten seconds).
func BenchmarkImport100k(b *testing.B) { benchImport(b, 100000) }

func benchImport(b *testing.B, n int) {
	data := benchLDIF(n)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		tr := newTestTree(b)
		b.StartTimer()
		if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(data)), ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchIndexed is the search: (uid=user{i}) over 10,000
// entries, subtree from the suffix, all user attributes.
func BenchmarkSearchIndexed(b *testing.B) {
	tr := newTestTree(b)
	if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(benchLDIF(10000))), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		f := ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: []byte(fmt.Sprintf("user%d", i%10000))}
		n := 0
		_, err := tr.Search(b.Context(), Identity{}, SearchParams{Request: &ldap.SearchRequest{BaseObject: "o=bench", Scope: ldap.ScopeWholeSubtree, Filter: f}}, func(*Entry) error { n++; return nil })
		if err != nil || n != 1 {
			b.Fatalf("%d entries, %v", n, err)
		}
		i++
	}
}

// BenchmarkBind is a simple bind against an {SSHA} password.
func BenchmarkBind(b *testing.B) {
	tr := newTestTree(b)
	if _, err := tr.Import(b.Context(), NewLDIFReader(bytes.NewReader(benchLDIF(1000))), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := tr.Bind(b.Context(), fmt.Sprintf("uid=user%d,ou=people,o=bench", i%1000), []byte(fmt.Sprintf("pw%d", i%1000))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
