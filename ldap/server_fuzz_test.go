package ldap_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/ldap"
)

// FuzzServerConn sends arbitrary bytes as one client's whole input: the
// server must answer or disconnect, never crash or hang, and keep serving
// others.
func FuzzServerConn(f *testing.F) {
	for _, m := range []*ldap.Message{
		{ID: 1, Op: &ldap.BindRequest{Version: 3, Name: adminDN, Password: []byte(adminPW)}},
		{ID: 2, Op: baseSearch},
		{ID: 3, Op: &ldap.SearchRequest{BaseObject: suffix, Scope: ldap.ScopeWholeSubtree, Filter: ldap.Filter{Type: ldap.FilterSubstrings, Attr: "cn", Initial: []byte("a")}}, Controls: []ldap.Control{(&ldap.PagedResults{Size: 2}).Control(true)}},
		{ID: 4, Op: &ldap.ExtendedRequest{Name: ldap.OIDWhoAmI}},
		{ID: 5, Op: &ldap.ExtendedRequest{Name: ldap.OIDPasswordModify}},
		{ID: 6, Op: &ldap.AbandonRequest{ID: 3}},
		{ID: 7, Op: &ldap.ModifyRequest{Object: adminDN, Changes: []ldap.Change{{Operation: ldap.ModifyReplace, Modification: ldap.Attribute{Type: "sn", Values: [][]byte{[]byte("x")}}}}}},
		{ID: 8, Op: &ldap.UnbindRequest{}},
	} {
		b, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00})
	ts := startServer(f, serverOpts{entries: 3, cfg: func(c *ldap.ServerConfig) {
		c.ReadTimeout = time.Second
		c.MaxMessageSize = 16 << 10
	}})
	addr := strings.TrimPrefix(ts.ldapURL, "ldap://")
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			c.Write(in)
			c.(*net.TCPConn).CloseWrite()
		}()
		// The server must finish with this client: answer what it can,
		// then close once the input ends.
		// (A reset is a close with input left unread.)
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("the server did not close the connection: %v", err)
		}
	})
}
