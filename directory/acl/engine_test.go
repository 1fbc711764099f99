package acl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pkid/pkid/dn"
)

// fakeTree is the directory as the engine sees it: access-control
// attributes per normalised DN and group members.
type fakeTree struct {
	mu       sync.Mutex
	entries  map[string]Attributes
	groups   map[string][]string
	lookups  int
	lookedUp map[string]int // lookups per DN, when not nil
	fail     error
}

func (f *fakeTree) lookup(_ context.Context, dn string) (Attributes, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.lookedUp != nil {
		f.lookedUp[dn]++
	}
	if f.fail != nil {
		return Attributes{}, f.fail
	}
	return f.entries[dn], nil
}

func (f *fakeTree) members(_ context.Context, dn string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.groups[dn], nil
}

const (
	admin = "cn=admin,o=sss"
	alice = "uid=alice,ou=people,o=sss" // in staff (groupOfNames)
	bob   = "uid=bob,ou=people,o=sss"   // in auditors (groupOfUniqueNames)
	carol = "uid=carol,ou=people,o=sss" // in staff, but named by an access-id value
	dave  = "uid=dave,ou=people,o=sss"  // owner of ou=delegated only
	erin  = "uid=erin,ou=people,o=sss"  // compare only
)

func newFakeTree() *fakeTree {
	return &fakeTree{
		entries: map[string]Attributes{
			"o=sss": {
				EntryOwner: []string{"access-id:CN=Admin,O=SSS"},
				ACLEntry: []string{
					"group:CN=AUTHENTICATED:normal:rsc",
					"access-id:CN=THIS:critical:w:sensitive:rsc",
					"group:cn=staff,ou=groups,o=sss:object:ad:normal:grant:rwsc:restricted:rw",
					"group:cn=auditors,ou=groups,o=sss:sensitive:rsc",
					"access-id:UID=Carol,OU=People,O=SSS:normal:rs",
					"access-id:uid=erin,ou=people,o=sss:normal:c",
				},
			},
			"ou=hr,o=sss": {ACLEntry: []string{
				"group:cn=staff,ou=groups,o=sss:normal:grant:rwsc",
				"group:cn=authenticated:normal:deny:w",
			}},
			"ou=private,o=sss": {ACLPropagate: "FALSE", ACLEntry: []string{
				"access-id:uid=bob,ou=people,o=sss:normal:rsc",
			}},
			"ou=delegated,o=sss": {OwnerPropagate: "FALSE", EntryOwner: []string{"access-id:uid=dave,ou=people,o=sss"}},
			"ou=team,o=sss":      {EntryOwner: []string{"group:cn=staff,ou=groups,o=sss"}},
		},
		groups: map[string][]string{
			"cn=staff,ou=groups,o=sss":    {"uid=alice,ou=people,o=sss", "UID=Carol,OU=People,O=SSS"},
			"cn=auditors,ou=groups,o=sss": {"uid=bob,ou=people,o=sss#'0101'B"},
		},
	}
}

func newTestEngine(t testing.TB, f *fakeTree) *Engine {
	t.Helper()
	e, err := New(Config{
		Lookup:         f.lookup,
		Members:        f.members,
		Administrators: []string{"cn=Directory Manager"},
		Public: func(dn string) bool {
			return dn == "" || dn == "cn=subschema" || dn == "cn=ssca256,ou=ca,o=sss"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// decideCase is one access question and its answer.
type decideCase struct {
	name   string
	caller string
	entry  string
	op     Op
	attr   string
	want   bool
	rule   Rule
}

func TestDecide(t *testing.T) {
	f := newFakeTree()
	e := newTestEngine(t, f)
	ctx := context.Background()
	for _, tc := range decideCases {
		t.Run(tc.name, func(t *testing.T) {
			for pass := range 2 { // the second answer comes from the cache
				d := e.Decide(ctx, Request{Caller: Caller{DN: tc.caller}, EntryDN: tc.entry, Op: tc.op, Attribute: tc.attr})
				if d.Allowed != tc.want || d.Rule != tc.rule {
					t.Errorf("pass %d: %s %s %q at %q: allowed=%v rule=%q (err %v), want allowed=%v rule=%q",
						pass, tc.caller, tc.op, tc.attr, tc.entry, d.Allowed, d.Rule, d.Err, tc.want, tc.rule)
				}
			}
		})
	}
}

// TestDecideEntry: deciding with the entry's own attributes in hand gives
// Decide's answers without looking the entry up, and the cached decision
// it leaves is the right one for Decide too.
func TestDecideEntry(t *testing.T) {
	ctx := context.Background()
	for _, tc := range decideCases {
		if tc.op == OpAddChild {
			continue // about the parent, not an entry in hand
		}
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTree()
			f.lookedUp = map[string]int{}
			e := newTestEngine(t, f)
			req := Request{Caller: Caller{DN: tc.caller}, EntryDN: tc.entry, Op: tc.op, Attribute: tc.attr}
			d := e.DecideEntry(ctx, req, f.entries[tc.entry])
			if d.Allowed != tc.want || d.Rule != tc.rule {
				t.Errorf("DecideEntry: allowed=%v rule=%q (err %v), want allowed=%v rule=%q", d.Allowed, d.Rule, d.Err, tc.want, tc.rule)
			}
			if n := f.lookedUp[tc.entry]; n != 0 && tc.entry != "" {
				t.Errorf("the entry in hand was looked up %d times", n)
			}
			if d := e.Decide(ctx, req); d.Allowed != tc.want || d.Rule != tc.rule {
				t.Errorf("Decide after DecideEntry: allowed=%v rule=%q, want allowed=%v rule=%q", d.Allowed, d.Rule, tc.want, tc.rule)
			}
		})
	}
}

// TestDecideEntryStale: a decision made from an entry in hand is dropped
// by Invalidate like any other, so an ACL added to the entry applies to
// the next decision.
func TestDecideEntryStale(t *testing.T) {
	ctx := context.Background()
	f := newFakeTree()
	e := newTestEngine(t, f)
	const doc = "cn=doc,ou=people,o=sss"
	req := Request{Caller: Caller{DN: bob}, EntryDN: doc, Op: OpRead, Attribute: "cn"}
	if !e.DecideEntry(ctx, req, Attributes{}).Allowed {
		t.Fatal("bob should read cn by CN=AUTHENTICATED at o=sss")
	}
	own := Attributes{ACLEntry: []string{"access-id:uid=alice,ou=people,o=sss:normal:rsc"}}
	f.mu.Lock()
	f.entries[doc] = own
	f.mu.Unlock()
	e.Invalidate()
	if e.DecideEntry(ctx, req, own).Allowed || e.Decide(ctx, req).Allowed {
		t.Error("after the entry got its own ACL and Invalidate, bob still reads it")
	}
}

var decideCases = []decideCase{
	{"anonymous cannot see a user entry", "", alice, OpRead, "", false, RuleNotGranted},
	{"anonymous cannot read a user's cn", "", alice, OpRead, "cn", false, RuleNotGranted},
	{"anonymous reads the CA certificate", "", "cn=ssca256,ou=ca,o=sss", OpRead, "cACertificate;binary", true, RulePublic},
	{"anonymous reads the CRL", "", "cn=ssca256,ou=ca,o=sss", OpRead, "certificateRevocationList", true, RulePublic},
	{"anonymous cannot write the CRL", "", "cn=ssca256,ou=ca,o=sss", OpWrite, "certificateRevocationList", false, RuleNotGranted},
	{"anonymous reads the root DSE", "", "", OpRead, "namingContexts", true, RulePublic},
	{"anonymous reads the subschema entry", "", "cn=subschema", OpRead, "attributeTypes", true, RulePublic},
	{"anonymous has no default access outside any ACL", "", "o=other", OpRead, "cn", false, RuleNoACL},
	{"authenticated reads cn (CN=AUTHENTICATED)", bob, alice, OpRead, "cn", true, RuleGranted},
	{"authenticated cannot write cn", bob, alice, OpWrite, "cn", false, RuleNotGranted},
	{"authenticated cannot read critical userPassword", bob, alice, OpRead, "userPassword", false, RuleNotGranted},
	{"CN=THIS writes its own userPassword", alice, alice, OpWrite, "userPassword", true, RuleGranted},
	{"CN=THIS cannot read its own userPassword", alice, alice, OpRead, "userPassword", false, RuleNotGranted},
	{"CN=THIS reads its own homePhone", bob, bob, OpRead, "homePhone", true, RuleGranted},
	{"CN=THIS is only the entry itself", bob, alice, OpWrite, "userPassword", false, RuleNotGranted},
	{"groupOfNames member writes normal attributes", alice, bob, OpWrite, "mail", true, RuleGranted},
	{"groupOfNames member cannot read critical", alice, bob, OpRead, "userPassword", false, RuleNotGranted},
	{"groupOfUniqueNames member reads sensitive", bob, alice, OpRead, "homePhone", true, RuleGranted},
	{"non-member cannot read sensitive", erin, alice, OpRead, "homePhone", false, RuleNotGranted},
	{"access-id overrides the caller's group grant", carol, bob, OpWrite, "mail", false, RuleNotGranted},
	{"access-id grant applies", carol, bob, OpSearch, "mail", true, RuleGranted},
	{"access-id read but not compare", carol, bob, OpCompare, "mail", false, RuleNotGranted},
	{"compare-only identity compares", erin, alice, OpCompare, "cn", true, RuleGranted},
	{"compare-only identity cannot read", erin, alice, OpRead, "cn", false, RuleNotGranted},
	{"compare-only identity cannot search", erin, alice, OpSearch, "cn", false, RuleNotGranted},
	{"object:a adds a child below ou=people", alice, "ou=people,o=sss", OpAddChild, "", true, RuleGranted},
	{"object:d deletes an entry", alice, bob, OpDelete, "", true, RuleGranted},
	{"no object grant, no add", bob, "ou=people,o=sss", OpAddChild, "", false, RuleNotGranted},
	{"no object grant, no delete", bob, alice, OpDelete, "", false, RuleNotGranted},
	{"deny wins over grant at the same level", alice, "cn=x,ou=hr,o=sss", OpWrite, "cn", false, RuleDenied},
	{"deny leaves the other grants", alice, "cn=x,ou=hr,o=sss", OpRead, "cn", true, RuleGranted},
	{"nearer ACL overrides the farther one", bob, "cn=x,ou=hr,o=sss", OpRead, "cn", false, RuleNotGranted},
	{"aclPropagate FALSE applies to its own entry", bob, "ou=private,o=sss", OpRead, "cn", true, RuleGranted},
	{"aclPropagate FALSE: own entry overrides o=sss", alice, "ou=private,o=sss", OpRead, "cn", false, RuleNotGranted},
	{"aclPropagate FALSE: children inherit from above it", alice, "cn=doc,ou=private,o=sss", OpWrite, "cn", true, RuleGranted},
	{"owner has full access", admin, alice, OpRead, "userPassword", true, RuleOwner},
	{"owner writes aclEntry", admin, alice, OpWrite, "aclEntry", true, RuleOwner},
	{"restricted grant reads aclEntry", alice, bob, OpRead, "aclEntry", true, RuleGranted},
	{"restricted grant cannot write aclEntry (owners only)", alice, bob, OpWrite, "aclEntry", false, RuleOwnerOnly},
	{"non-owner cannot write entryOwner", bob, bob, OpWrite, "entryOwner", false, RuleOwnerOnly},
	{"ownerPropagate FALSE: owner of its own entry", dave, "ou=delegated,o=sss", OpWrite, "aclEntry", true, RuleOwner},
	{"ownerPropagate FALSE: not owner below", dave, "cn=c,ou=delegated,o=sss", OpWrite, "cn", false, RuleNotGranted},
	{"group owner (propagated) has full access", alice, "uid=z,ou=team,o=sss", OpRead, "userPassword", true, RuleOwner},
	{"administrator has full access", "CN=Directory Manager", alice, OpCompare, "userPassword", true, RuleAdmin},
	{"operational attributes need a system grant", bob, alice, OpRead, "modifyTimestamp", false, RuleNotGranted},
}

func TestCanDiscover(t *testing.T) {
	e := newTestEngine(t, newFakeTree())
	ctx := context.Background()
	tests := []struct {
		caller, entry string
		want          Refusal
	}{
		{"", alice, RefuseNoSuchObject},
		{bob, alice, RefuseInsufficientAccess},
		{bob, "cn=x,ou=hr,o=sss", RefuseNoSuchObject},
		{"", "cn=ssca256,ou=ca,o=sss", RefuseInsufficientAccess},
		{dave, "ou=delegated,o=sss", RefuseInsufficientAccess},
	}
	for _, tc := range tests {
		if got := e.Refuse(ctx, Caller{DN: tc.caller}, tc.entry); got != tc.want {
			t.Errorf("Refuse(%q at %q) = %v, want %v", tc.caller, tc.entry, got, tc.want)
		}
	}
	for _, tc := range []struct{ caller, matched, want string }{
		{"", "uid=alice,ou=people,o=sss", ""},
		{bob, "uid=alice,ou=people,o=sss", "uid=alice,ou=people,o=sss"},
		{bob, "cn=x,ou=hr,o=sss", "o=sss"},
		{"", "cn=ssca256,ou=ca,o=sss", "cn=ssca256,ou=ca,o=sss"},
	} {
		if got := e.MatchedDN(ctx, Caller{DN: tc.caller}, tc.matched); got != tc.want {
			t.Errorf("MatchedDN(%q, %q) = %q, want %q", tc.caller, tc.matched, got, tc.want)
		}
	}
	if !e.CanSearch(ctx, Caller{DN: bob}, alice, "cn") || e.CanSearch(ctx, Caller{DN: bob}, alice, "userPassword") {
		t.Error("CanSearch: bob should search cn but not userPassword at alice")
	}
}

func TestSources(t *testing.T) {
	e := newTestEngine(t, newFakeTree())
	tests := []struct{ entry, acl, owner string }{
		{alice, "o=sss", "o=sss"},
		{"ou=private,o=sss", "ou=private,o=sss", "o=sss"},
		{"cn=doc,ou=private,o=sss", "o=sss", "o=sss"},
		{"ou=delegated,o=sss", "o=sss", "ou=delegated,o=sss"},
		{"cn=c,ou=delegated,o=sss", "o=sss", "o=sss"},
		{"o=other", "", ""},
	}
	for _, tc := range tests {
		a, o, err := e.Sources(context.Background(), tc.entry)
		if err != nil || a != tc.acl || o != tc.owner {
			t.Errorf("Sources(%q) = %q, %q, %v; want %q, %q", tc.entry, a, o, err, tc.acl, tc.owner)
		}
	}
}

func TestInvalidate(t *testing.T) {
	f := newFakeTree()
	e := newTestEngine(t, f)
	ctx := context.Background()
	req := Request{Caller: Caller{DN: erin}, EntryDN: alice, Op: OpRead, Attribute: "cn"}
	if e.Decide(ctx, req).Allowed {
		t.Fatal("erin reads cn before the grant")
	}
	f.mu.Lock()
	a := f.entries["o=sss"]
	a.ACLEntry = append(append([]string(nil), a.ACLEntry...), "access-id:uid=erin,ou=people,o=sss:normal:rc")
	f.entries["o=sss"] = a
	f.mu.Unlock()
	if e.Decide(ctx, req).Allowed {
		t.Fatal("the cached decision should stand until Invalidate")
	}
	e.Invalidate()
	if !e.Decide(ctx, req).Allowed {
		t.Fatal("after Invalidate the new grant should apply")
	}
	// Group membership changes need Invalidate too.
	f.mu.Lock()
	f.groups["cn=staff,ou=groups,o=sss"] = nil
	f.mu.Unlock()
	e.Invalidate()
	if d := e.Decide(ctx, Request{Caller: Caller{DN: alice}, EntryDN: bob, Op: OpWrite, Attribute: "mail"}); d.Allowed {
		t.Fatalf("alice left staff but still writes: %+v", d)
	}
}

func TestLookupFailureDenies(t *testing.T) {
	f := newFakeTree()
	f.fail = errors.New("store is down")
	e := newTestEngine(t, f)
	d := e.Decide(context.Background(), Request{Caller: Caller{DN: admin}, EntryDN: alice, Op: OpRead, Attribute: "cn"})
	if d.Allowed || d.Rule != RuleError || d.Err == nil {
		t.Fatalf("Decide with a failing store = %+v, want denied with RuleError", d)
	}
}

func TestStoredGarbageDenies(t *testing.T) {
	f := newFakeTree()
	f.entries["ou=bad,o=sss"] = Attributes{ACLEntry: []string{"group:cn=anybody:normal:rzz"}}
	e := newTestEngine(t, f)
	d := e.Decide(context.Background(), Request{Caller: Caller{DN: bob}, EntryDN: "cn=x,ou=bad,o=sss", Op: OpRead, Attribute: "cn"})
	if d.Allowed || d.Rule != RuleError {
		t.Fatalf("Decide under a malformed stored aclEntry = %+v, want denied with RuleError", d)
	}
}

func ExampleEngine_Decide() {
	acls := map[string]Attributes{
		"o=sss": {ACLEntry: []string{"access-id:CN=SECP521R,O=CPWEBUSER,C=GB:object:ad:normal:grant:rscw:sensitive:rsc"}},
	}
	e, _ := New(Config{Lookup: func(_ context.Context, dn string) (Attributes, error) { return acls[dn], nil }})
	ctx := context.Background()
	user := Caller{DN: "cn=secp521r,o=cpwebuser,c=gb"}
	for _, attr := range []string{"mail", "homePhone", "userPassword"} {
		d := e.Decide(ctx, Request{Caller: user, EntryDN: "uid=x,o=sss", Op: OpWrite, Attribute: attr})
		fmt.Println(attr, d.Allowed, d.Rule)
	}
	// Output:
	// mail true granted
	// homePhone false not granted
	// userPassword false not granted
}

func TestConcurrentDecideAndInvalidate(t *testing.T) {
	f := newFakeTree()
	e := newTestEngine(t, f)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if w == 0 && i%50 == 0 {
					e.Invalidate()
				}
				d := e.Decide(ctx, Request{Caller: Caller{DN: bob}, EntryDN: fmt.Sprintf("uid=u%d,ou=people,o=sss", i%20), Op: OpRead, Attribute: "cn"})
				if !d.Allowed {
					t.Errorf("bob denied cn: %+v", d)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestIBMPseudoDNExamples replays IBM's "Examples of pseudo DNs" (IBM
// Directory Server documentation, examples 1 and 2): the effective rights
// of three callers on cn=personA,o=sample.
func TestIBMPseudoDNExamples(t *testing.T) {
	example1 := []string{
		"access-id: cn = this:critical:rwsc",
		"group: cn=Anybody: normal:rsc",
		"group: cn=Authenticated: sensitive:rcs",
	}
	example2 := append([]string{"access-id:cn=personA, o=sample: object:ad"}, example1...)
	tests := []struct {
		name   string
		acl    []string
		caller string
		want   string
	}{
		{"example 1, personA", example1, "cn=personA, o=sample", "normal:rsc:sensitive:rsc:critical:rwsc"},
		{"example 1, personB", example1, "cn=personB, o=sample", "normal:rsc:sensitive:rsc"},
		{"example 1, anonymous", example1, "", "normal:rsc"},
		{"example 2, personA", example2, "cn=personA, o=sample", "object:ad:critical:rwsc"},
		{"example 2, personB", example2, "cn=personB, o=sample", "normal:rsc:sensitive:rsc"},
		{"example 2, anonymous", example2, "", "normal:rsc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acls := map[string]Attributes{"cn=persona,o=sample": {ACLEntry: tc.acl}}
			e, err := New(Config{Lookup: func(_ context.Context, dn string) (Attributes, error) { return acls[dn], nil }})
			if err != nil {
				t.Fatal(err)
			}
			r, _, err := e.Rights(context.Background(), Caller{DN: tc.caller}, "cn=persona,o=sample")
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tc.want {
				t.Errorf("rights of %q = %q, want %q", tc.caller, r, tc.want)
			}
		})
	}
}

func TestUnknownSubjectMatchesNobody(t *testing.T) {
	f := newFakeTree()
	a := f.entries["o=sss"]
	a.ACLEntry = append(append([]string(nil), a.ACLEntry...), "access-id:x-unknown=1,o=sss:normal:deny:rwsc")
	f.entries["o=sss"] = a
	strict := func(s string) (string, error) {
		if strings.Contains(s, "x-unknown") {
			return "", errors.New("x-unknown: unknown attribute type")
		}
		return dn.Normalize(s)
	}
	e, err := New(Config{Lookup: f.lookup, Members: f.members, Normalize: strict})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d := e.Decide(ctx, Request{Caller: Caller{DN: bob}, EntryDN: alice, Op: OpRead, Attribute: "cn"}); !d.Allowed {
		t.Errorf("an aclEntry naming an unknown type locked bob out: %+v", d)
	}
	var se *SyntaxError
	if err := e.CheckValue("aclEntry", "access-id:x-unknown=1,o=sss:normal:r"); !errors.As(err, &se) {
		t.Errorf("Engine.CheckValue accepted a subject the directory cannot normalise: %v", err)
	}
	if err := e.CheckValue("aclEntry", "group:cn=staff,o=sss:normal:r"); err != nil {
		t.Errorf("Engine.CheckValue(group:cn=staff,o=sss) = %v", err)
	}
	if err := e.CheckValue("entryOwner", "access-id:x-unknown=1"); !errors.As(err, &se) {
		t.Errorf("Engine.CheckValue accepted an owner the directory cannot normalise: %v", err)
	}
}

// TestLookupPublic: an entry the Lookup reports public (Attributes.Public,
// no Config.Public) is readable by anyone, only there (not below it), a
// deny clause still wins, and the flag follows Invalidate.
func TestLookupPublic(t *testing.T) {
	f := &fakeTree{entries: map[string]Attributes{
		"cn=ca,o=x":        {Public: true},
		"cn=denied,o=x":    {Public: true, ACLEntry: []string{"group:CN=ANYBODY:normal:deny:r"}},
		"cn=crl,cn=ca,o=x": {},
		"o=x":              {},
	}, groups: map[string][]string{}}
	e, err := New(Config{Lookup: f.lookup, Members: f.members})
	if err != nil {
		t.Fatal(err)
	}
	read := func(entry string) bool {
		return e.Decide(context.Background(), Request{EntryDN: entry, Op: OpRead, Attribute: "cn"}).Allowed
	}
	tests := []struct {
		name  string
		entry string
		want  bool
	}{
		{"public entry", "cn=ca,o=x", true},
		{"entry below a public one", "cn=crl,cn=ca,o=x", false},
		{"not public", "o=x", false},
		{"deny beats public", "cn=denied,o=x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := read(tc.entry); got != tc.want {
				t.Errorf("anonymous read of %s: %v, want %v", tc.entry, got, tc.want)
			}
		})
	}
	f.mu.Lock()
	f.entries["cn=ca,o=x"] = Attributes{}
	f.mu.Unlock()
	e.Invalidate()
	if read("cn=ca,o=x") {
		t.Error("entry no longer public is still readable after Invalidate")
	}
}

// TestRecentAnswersStale: the answers the Engine keeps at hand for the
// most recent questions (a search's base, then its entries) are dropped
// by Invalidate too, for both of them, and a question about one entry is
// never answered with another's rights.
func TestRecentAnswersStale(t *testing.T) {
	ctx := context.Background()
	f := newFakeTree()
	e := newTestEngine(t, f)
	const doc = "cn=doc,ou=people,o=sss"
	base := Request{Caller: Caller{DN: bob}, EntryDN: "o=sss", Op: OpRead, Attribute: "cn"}
	req := Request{Caller: Caller{DN: bob}, EntryDN: doc, Op: OpRead, Attribute: "cn"}
	for range 3 {
		if !e.Decide(ctx, base).Allowed || !e.Decide(ctx, req).Allowed {
			t.Fatal("bob should read cn at o=sss and below")
		}
	}
	f.mu.Lock()
	f.entries[doc] = Attributes{ACLEntry: []string{"access-id:uid=alice,ou=people,o=sss:normal:rsc"}}
	f.mu.Unlock()
	e.Invalidate()
	for range 3 {
		if !e.Decide(ctx, base).Allowed {
			t.Fatal("bob lost o=sss, whose ACL did not change")
		}
		if e.Decide(ctx, req).Allowed {
			t.Fatal("after the entry got its own ACL and Invalidate, bob still reads it")
		}
	}
}
