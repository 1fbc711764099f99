package ldap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
)

// wireServer is a minimal LDAP responder for interop tests: it decodes
// whatever a real client sends with this package, records it, and answers
// with canned responses. It is not the directory server.
type wireServer struct {
	t    *testing.T
	ln   net.Listener
	addr string

	mu   sync.Mutex
	msgs []*Message
	errs []error

	// entries answers every SearchRequest.
	entries []*SearchResultEntry
	// twoPages makes paged searches take two pages.
	twoPages bool
	// refs, searchResult and bindResult change the canned answers.
	refs         []string
	searchResult LDAPResult
	bindResult   LDAPResult
	wg           sync.WaitGroup
}

func newWireServer(t *testing.T) *wireServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &wireServer{t: t, ln: ln, addr: ln.Addr().String()}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *wireServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

func (s *wireServer) serve(c net.Conn) {
	r := bufio.NewReader(c)
	var bound string
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		m, err := ReadMessage(r, 0)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.mu.Lock()
				s.errs = append(s.errs, err)
				s.mu.Unlock()
			}
			var pe *ProtocolError
			if errors.As(err, &pe) {
				b, _ := NoticeOfDisconnection(pe.Code, pe.Error()).Marshal()
				c.Write(b)
			}
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
		var out []*Message
		reply := func(op Op, cs ...Control) { out = append(out, &Message{ID: m.ID, Op: op, Controls: cs}) }
		switch op := m.Op.(type) {
		case *BindRequest:
			bound = op.Name
			reply(&BindResponse{LDAPResult: s.bindResult})
		case *UnbindRequest:
			return
		case *SearchRequest:
			for _, e := range s.entries {
				reply(e)
			}
			if len(s.refs) > 0 {
				reply(&SearchResultReference{URIs: s.refs})
			}
			var cs []Control
			if c := FindControl(m.Controls, OIDPagedResults); c != nil {
				// Two pages: the first hands out a cookie, the
				// request that returns it gets the last page.
				next := &PagedResults{Size: 2}
				if p, err := DecodePagedResults(c.Value); err == nil && len(p.Cookie) == 0 && s.twoPages {
					next.Cookie = []byte("page\x002")
				}
				cs = append(cs, next.Control(false))
			}
			reply(&SearchResultDone{s.searchResult}, cs...)
		case *ModifyRequest:
			reply(&ModifyResponse{})
		case *AddRequest:
			reply(&AddResponse{})
		case *DelRequest:
			reply(&DelResponse{})
		case *ModifyDNRequest:
			reply(&ModifyDNResponse{})
		case *CompareRequest:
			reply(&CompareResponse{LDAPResult{ResultCode: ResultCompareTrue}})
		case *ExtendedRequest:
			switch op.Name {
			case OIDWhoAmI:
				reply(&ExtendedResponse{Value: []byte("dn:" + bound)})
			case OIDPasswordModify:
				pm, err := DecodePasswordModifyRequest(op.Value)
				if err != nil {
					reply(&ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: err.Error()}})
					break
				}
				var resp PasswordModifyResponse
				if pm.NewPassword == nil {
					resp.GenPassword = []byte("gen-Secret-42")
				}
				reply(&ExtendedResponse{Value: resp.Encode()})
			default:
				reply(&ExtendedResponse{LDAPResult: LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: "unsupported"}})
			}
		}
		var buf []byte
		for _, o := range out {
			if buf, err = o.Append(buf); err != nil {
				s.t.Errorf("encode response: %v", err)
				return
			}
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// requests returns the decoded requests of the given type, in order.
func requests[T Op](s *wireServer) ([]T, []*Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ops []T
	var ms []*Message
	for _, m := range s.msgs {
		if op, ok := m.Op.(T); ok {
			ops = append(ops, op)
			ms = append(ms, m)
		}
	}
	return ops, ms
}

func (s *wireServer) checkNoErrors() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range s.errs {
		s.t.Errorf("server could not decode a client message: %v", err)
	}
}

// run runs an OpenLDAP client against s with a clean environment.
func run(t *testing.T, stdin string, prog string, args ...string) string {
	t.Helper()
	return runExit(t, 0, stdin, prog, args...)
}

// runExit is run for a program expected to exit with status code.
func runExit(t *testing.T, code int, stdin string, prog string, args ...string) string {
	t.Helper()
	path := peer.Need(t, prog, "ldap-utils")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	home := t.TempDir()
	cmd.Env = []string{"LDAPNOINIT=1", "HOME=" + home, "PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == code && code != 0 {
		err = nil
	}
	if err == nil && code != 0 && cmd.ProcessState.ExitCode() != code {
		t.Fatalf("%s exited with %d, want %d", prog, cmd.ProcessState.ExitCode(), code)
	}
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", prog, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func TestInteropLdapsearchFilters(t *testing.T) {
	filters := []string{
		"(objectClass=*)",
		"(uid=jane)",
		"(cn=)",
		"(cn=J*)",
		"(cn=*ne)",
		"(cn=J*a*e)",
		"(cn=*a*)",
		"(uidNumber>=1000)",
		"(uidNumber<=2000)",
		"(cn~=jane)",
		"(cn:caseExactMatch:=Jane)",
		"(cn:dn:=x)",
		"(ou:dn:caseIgnoreMatch:=People)",
		"(:dn:2.5.13.5:=x)",
		"(:caseExactMatch:=x)",
		"(&(objectClass=person)(|(uid=a)(uid=b))(!(cn=x)))",
		"(&)",
		"(|)",
		`(cn=\2a\28\29\5c)`,
		`(description=caf\c3\a9)`,
		"(cn=Jos\u00e9)",
		"(certificateRevocationList;binary=*)",
		"(2.5.4.3=x)",
		"uid=bare",
		"(& (uid=a) (!\t(cn=b)) )",
	}
	s := newWireServer(t)
	s.entries = []*SearchResultEntry{{
		ObjectName: "uid=jane,ou=People,dc=example,dc=com",
		Attributes: []Attribute{
			{Type: "objectClass", Values: [][]byte{[]byte("top"), []byte("inetOrgPerson")}},
			{Type: "cn", Values: [][]byte{[]byte("Jane Doe")}},
			{Type: "uid", Values: [][]byte{[]byte("jane")}},
			{Type: "description", Values: [][]byte{[]byte("caf\u00e9"), {0xff, 0x00}}},
		},
	}}
	const wantLDIF = "dn: uid=jane,ou=People,dc=example,dc=com\n" +
		"objectClass: top\nobjectClass: inetOrgPerson\ncn: Jane Doe\nuid: jane\n" +
		"description:: Y2Fmw6k=\ndescription:: /wA=\n\n"
	for _, f := range filters {
		t.Run(f, func(t *testing.T) {
			before, _ := requests[*SearchRequest](s)
			i := len(before)
			out := run(t, "", "ldapsearch", "-x", "-LLL", "-H", "ldap://"+s.addr, "-b", "dc=example,dc=com", "-s", "sub", f, "cn", "uid")
			if out != wantLDIF {
				t.Errorf("ldapsearch printed:\n%s\nwant:\n%s", out, wantLDIF)
			}
			reqs, _ := requests[*SearchRequest](s)
			if len(reqs) != i+1 {
				t.Fatalf("%d search requests after %d runs", len(reqs), i+1)
			}
			got := reqs[i]
			want, err := ParseFilter(f)
			if err != nil {
				t.Fatal(err)
			}
			// libldap's encoding and ours must agree byte for byte.
			gb, _ := got.Filter.Encode()
			wb, _ := want.Encode()
			if !bytes.Equal(gb, wb) {
				t.Errorf("filter %s: ldapsearch sent %s (% x), we parse %s (% x)", f, got.Filter.String(), gb, want.String(), wb)
			}
			if got.BaseObject != "dc=example,dc=com" || got.Scope != ScopeWholeSubtree ||
				!reflect.DeepEqual(got.Attributes, []string{"cn", "uid"}) {
				t.Errorf("request %+v", got)
			}
		})
	}
	s.checkNoErrors()
}

func TestInteropLdapsearchOptions(t *testing.T) {
	s := newWireServer(t)
	base := []string{"-x", "-LLL", "-H", "ldap://" + s.addr}
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, m *Message, r *SearchRequest)
	}{
		{"paged results", []string{"-E", "pr=10/noprompt", "-b", "dc=x", "(cn=*)"}, func(t *testing.T, m *Message, r *SearchRequest) {
			c := FindControl(m.Controls, OIDPagedResults)
			if c == nil {
				t.Fatalf("no paged results control in %+v", m.Controls)
			}
			p, err := DecodePagedResults(c.Value)
			if err != nil || p.Size != 10 || len(p.Cookie) != 0 {
				t.Errorf("paged results %+v, %v", p, err)
			}
		}},
		{"critical paged results", []string{"-E", "!pr=3/noprompt", "-b", "dc=x"}, func(t *testing.T, m *Message, r *SearchRequest) {
			c := FindControl(m.Controls, OIDPagedResults)
			if c == nil || !c.Criticality {
				t.Fatalf("control %+v", c)
			}
		}},
		{"manageDSAit and assertion", []string{"-e", "manageDSAit", "-e", "!assert=(cn=x)", "-b", "dc=x"}, func(t *testing.T, m *Message, r *SearchRequest) {
			if c := FindControl(m.Controls, OIDManageDsaIT); c == nil || c.Value != nil {
				t.Errorf("manageDSAit %+v", c)
			}
			c := FindControl(m.Controls, OIDAssertion)
			if c == nil || !c.Criticality {
				t.Fatalf("assertion %+v", c)
			}
			f, err := DecodeFilter(c.Value)
			if err != nil || f.String() != "(cn=x)" {
				t.Errorf("assertion filter %v, %v", f.String(), err)
			}
		}},
		{"proxied authz", []string{"-e", "!authzid=dn:cn=u,dc=x", "-b", "dc=x"}, func(t *testing.T, m *Message, r *SearchRequest) {
			c := FindControl(m.Controls, OIDProxiedAuthz)
			if c == nil || string(c.Value) != "dn:cn=u,dc=x" || !c.Criticality {
				t.Errorf("proxied authz %+v", c)
			}
		}},
		{"scope limits typesOnly deref", []string{"-s", "one", "-z", "5", "-l", "7", "-A", "-a", "always", "-b", "ou=p,dc=x", "(uid=a)", "1.1"},
			func(t *testing.T, m *Message, r *SearchRequest) {
				want := &SearchRequest{BaseObject: "ou=p,dc=x", Scope: ScopeSingleLevel, DerefAliases: DerefAlways, SizeLimit: 5, TimeLimit: 7,
					TypesOnly: true, Filter: eq("uid", "a"), Attributes: []string{"1.1"}}
				if !reflect.DeepEqual(r, want) {
					t.Errorf("got %+v\nwant %+v", r, want)
				}
			}},
		{"base scope all attributes", []string{"-s", "base", "-b", "", "(objectClass=*)", "*", "+"}, func(t *testing.T, m *Message, r *SearchRequest) {
			if r.Scope != ScopeBaseObject || r.BaseObject != "" || !reflect.DeepEqual(r.Attributes, []string{"*", "+"}) {
				t.Errorf("got %+v", r)
			}
		}},
		{"children scope", []string{"-s", "children", "-b", "dc=x"}, func(t *testing.T, m *Message, r *SearchRequest) {
			if r.Scope != ScopeChildren {
				t.Errorf("scope %v", r.Scope)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := requests[*SearchRequest](s)
			i := len(before)
			run(t, "", "ldapsearch", append(append([]string{}, base...), tt.args...)...)
			reqs, ms := requests[*SearchRequest](s)
			if len(reqs) != i+1 {
				t.Fatalf("%d requests", len(reqs))
			}
			tt.check(t, ms[i], reqs[i])
		})
	}
	s.checkNoErrors()
}

// Results other than success, references and referrals reach the client
// as libldap understands them.
func TestInteropResults(t *testing.T) {
	s := newWireServer(t)
	url := "ldap://" + s.addr
	s.refs = []string{"ldap://other.example/ou=x,dc=x??sub"}
	s.searchResult = LDAPResult{ResultCode: ResultNoSuchObject, MatchedDN: "dc=x", DiagnosticMessage: "no ou=missing below dc=x"}
	out := runExit(t, 32, "", "ldapsearch", "-x", "-H", url, "-b", "ou=missing,dc=x")
	for _, want := range []string{
		"# search reference\nref: ldap://other.example/ou=x,dc=x??sub",
		"result: 32 No such object",
		"matchedDN: dc=x",
		"text: no ou=missing below dc=x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ldapsearch output lacks %q:\n%s", want, out)
		}
	}
	s.refs = nil
	s.searchResult = LDAPResult{ResultCode: ResultReferral, Referral: []string{"ldap://a.example/dc=x", "ldap://b.example/dc=x"}}
	out = runExit(t, 10, "", "ldapsearch", "-x", "-H", url, "-b", "dc=x")
	for _, want := range []string{"result: 10 Referral", "ref: ldap://a.example/dc=x", "ldap://b.example/dc=x"} {
		if !strings.Contains(out, want) {
			t.Errorf("ldapsearch output lacks %q:\n%s", want, out)
		}
	}

	s.bindResult = LDAPResult{ResultCode: ResultInvalidCredentials, DiagnosticMessage: "password does not match"}
	cmd := exec.Command(peer.Need(t, "ldapwhoami", "ldap-utils"), "-x", "-H", url, "-D", "uid=jane,dc=x", "-w", "wrong")
	cmd.Env = []string{"LDAPNOINIT=1", "HOME=" + t.TempDir()}
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 49 {
		t.Fatalf("ldapwhoami: %v\n%s", err, b)
	}
	for _, want := range []string{"Invalid credentials (49)", "additional info: password does not match"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("ldapwhoami output lacks %q:\n%s", want, b)
		}
	}
	s.checkNoErrors()
}

func TestInteropPagedResultsCookie(t *testing.T) {
	s := newWireServer(t)
	s.twoPages = true
	s.entries = []*SearchResultEntry{{ObjectName: "cn=a,dc=x"}}
	out := run(t, "", "ldapsearch", "-x", "-LLL", "-H", "ldap://"+s.addr, "-b", "dc=x", "-E", "pr=1/noprompt", "(cn=*)")
	if strings.Count(out, "dn: cn=a,dc=x") != 2 {
		t.Errorf("ldapsearch printed:\n%s", out)
	}
	reqs, ms := requests[*SearchRequest](s)
	if len(reqs) != 2 {
		t.Fatalf("%d search requests, want 2", len(reqs))
	}
	var cookies []string
	for _, m := range ms {
		p, err := DecodePagedResults(FindControl(m.Controls, OIDPagedResults).Value)
		if err != nil || p.Size != 1 {
			t.Fatalf("paged results %+v %v", p, err)
		}
		cookies = append(cookies, string(p.Cookie))
	}
	if !reflect.DeepEqual(cookies, []string{"", "page\x002"}) {
		t.Errorf("cookies sent: %q", cookies)
	}
	s.checkNoErrors()
}

func TestInteropUpdates(t *testing.T) {
	s := newWireServer(t)
	url := "ldap://" + s.addr
	auth := []string{"-x", "-H", url, "-D", "cn=admin,dc=x", "-w", "secret"}
	args := func(extra ...string) []string { return append(append([]string{}, auth...), extra...) }

	run(t, `dn: uid=jane,dc=x
changetype: modify
add: mail
mail: jane@x
mail: j@x
-
delete: telephoneNumber
-
delete: description
description: old
-
replace: cn
cn: Jane
-
replace: seeAlso
-
increment: uidNumber
uidNumber: 5
-
`, "ldapmodify", args()...)
	mods, _ := requests[*ModifyRequest](s)
	wantMod := &ModifyRequest{Object: "uid=jane,dc=x", Changes: []Change{
		{ModifyAdd, Attribute{"mail", [][]byte{[]byte("jane@x"), []byte("j@x")}}},
		{ModifyDelete, Attribute{"telephoneNumber", nil}},
		{ModifyDelete, Attribute{"description", [][]byte{[]byte("old")}}},
		{ModifyReplace, Attribute{"cn", [][]byte{[]byte("Jane")}}},
		{ModifyReplace, Attribute{"seeAlso", nil}},
		{ModifyIncrement, Attribute{"uidNumber", [][]byte{[]byte("5")}}},
	}}
	if len(mods) != 1 || !reflect.DeepEqual(mods[0], wantMod) {
		t.Errorf("modify:\n got %+v\nwant %+v", mods, wantMod)
	}

	run(t, "dn: cn=new,dc=x\nobjectClass: top\nobjectClass: person\ncn: new\nsn: N\nuserCertificate;binary:: MIIB\n",
		"ldapadd", args()...)
	adds, _ := requests[*AddRequest](s)
	wantAdd := &AddRequest{Entry: "cn=new,dc=x", Attributes: []Attribute{
		{"objectClass", [][]byte{[]byte("top"), []byte("person")}},
		{"cn", [][]byte{[]byte("new")}},
		{"sn", [][]byte{[]byte("N")}},
		{"userCertificate;binary", [][]byte{{0x30, 0x82, 0x01}}},
	}}
	if len(adds) != 1 || !reflect.DeepEqual(adds[0], wantAdd) {
		t.Errorf("add:\n got %+v\nwant %+v", *adds[0], wantAdd)
	}

	run(t, "", "ldapdelete", args("cn=new,dc=x")...)
	dels, _ := requests[*DelRequest](s)
	if len(dels) != 1 || dels[0].DN != "cn=new,dc=x" {
		t.Errorf("delete %+v", dels)
	}

	run(t, "", "ldapmodrdn", args("-r", "-s", "ou=moved,dc=x", "cn=a,dc=x", "cn=b")...)
	run(t, "", "ldapmodrdn", args("cn=b,ou=moved,dc=x", "cn=c")...)
	mdn, _ := requests[*ModifyDNRequest](s)
	wantMDN := []*ModifyDNRequest{
		{Entry: "cn=a,dc=x", NewRDN: "cn=b", DeleteOldRDN: true, NewSuperior: "ou=moved,dc=x", HasNewSuperior: true},
		{Entry: "cn=b,ou=moved,dc=x", NewRDN: "cn=c"},
	}
	if !reflect.DeepEqual(mdn, wantMDN) {
		t.Errorf("modrdn:\n got %+v\nwant %+v", mdn, wantMDN)
	}

	out := runExit(t, 6, "", "ldapcompare", args("uid=jane,dc=x", "mail:jane@x")...)
	if strings.TrimSpace(out) != "TRUE" {
		t.Errorf("ldapcompare printed %q", out)
	}
	runExit(t, 6, "", "ldapcompare", args("uid=jane,dc=x", "userCertificate;binary::MIIB")...)
	cmps, _ := requests[*CompareRequest](s)
	wantCmp := []*CompareRequest{
		{Entry: "uid=jane,dc=x", Attr: "mail", Value: []byte("jane@x")},
		{Entry: "uid=jane,dc=x", Attr: "userCertificate;binary", Value: []byte{0x30, 0x82, 0x01}},
	}
	if !reflect.DeepEqual(cmps, wantCmp) {
		t.Errorf("compare:\n got %+v\nwant %+v", cmps, wantCmp)
	}

	binds, _ := requests[*BindRequest](s)
	for _, b := range binds {
		if b.Version != 3 || b.Name != "cn=admin,dc=x" || b.Method != BindSimple || string(b.Password) != "secret" {
			t.Errorf("bind %+v", b)
		}
	}
	if len(binds) != 7 {
		t.Errorf("%d binds, want 7", len(binds))
	}
	s.checkNoErrors()
}

func TestInteropExtended(t *testing.T) {
	s := newWireServer(t)
	url := "ldap://" + s.addr
	out := run(t, "", "ldapwhoami", "-x", "-H", url, "-D", "uid=jane,dc=x", "-w", "pw")
	if strings.TrimSpace(out) != "dn:uid=jane,dc=x" {
		t.Errorf("ldapwhoami printed %q", out)
	}
	out = run(t, "", "ldappasswd", "-x", "-H", url, "-D", "cn=admin,dc=x", "-w", "secret", "uid=jane,dc=x")
	if strings.TrimSpace(out) != "New password: gen-Secret-42" {
		t.Errorf("ldappasswd printed %q", out)
	}
	run(t, "", "ldappasswd", "-x", "-H", url, "-D", "cn=admin,dc=x", "-w", "secret", "-a", "old", "-s", "new", "uid=jane,dc=x")
	run(t, "", "ldappasswd", "-x", "-H", url, "-D", "uid=jane,dc=x", "-w", "secret", "-s", "self")
	exts, _ := requests[*ExtendedRequest](s)
	if len(exts) != 4 || exts[0].Name != OIDWhoAmI || exts[0].Value != nil {
		t.Fatalf("extended requests %+v", exts)
	}
	want := []PasswordModifyRequest{
		{UserIdentity: []byte("uid=jane,dc=x")},
		{UserIdentity: []byte("uid=jane,dc=x"), OldPassword: []byte("old"), NewPassword: []byte("new")},
		{NewPassword: []byte("self")},
	}
	for i, w := range want {
		e := exts[i+1]
		if e.Name != OIDPasswordModify {
			t.Fatalf("request %d: %s", i, e.Name)
		}
		got, err := DecodePasswordModifyRequest(e.Value)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, w) {
			t.Errorf("password modify %d: got %+v want %+v", i, got, w)
		}
	}
	s.checkNoErrors()
}

// ldapsearch must take our Notice of Disconnection for one (libldap
// treats it as the server going away).
func TestInteropNoticeOfDisconnection(t *testing.T) {
	path := peer.Need(t, "ldapsearch", "ldap-utils")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if _, err := ReadMessage(r, 0); err != nil { // the bind
			return
		}
		b, _ := NoticeOfDisconnection(ResultUnavailable, "server shutting down").Marshal()
		c.Write(b)
	}()
	cmd := exec.Command(path, "-d", "1", "-x", "-H", "ldap://"+ln.Addr().String(), "-b", "dc=x")
	cmd.Env = []string{"LDAPNOINIT=1", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	<-done
	if err == nil {
		t.Fatalf("ldapsearch succeeded: %s", out)
	}
	// libldap's debug log shows it decoded an unsolicited
	// ExtendedResponse, then it gives up on the connection.
	for _, want := range []string{"msgid 0 message type extended-result", "Can't contact LDAP server"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ldapsearch output lacks %q:\n%s", want, out)
		}
	}
}
