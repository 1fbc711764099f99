package ldap_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pkid/pkid/ldap"
)

// blockingBackend's Search runs until its context ends and reports why.
type blockingBackend struct {
	started chan struct{}
	ended   chan error
}

func (b *blockingBackend) Bind(context.Context, string, []byte) (ldap.Identity, error) {
	return ldap.Identity{}, nil
}

func (b *blockingBackend) Search(ctx context.Context, _ ldap.Identity, _ *ldap.SearchRequest, _ *ldap.Page, _ func(*ldap.SearchResultEntry) error) ([]byte, error) {
	b.started <- struct{}{}
	select {
	case <-ctx.Done():
		b.ended <- ctx.Err()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		b.ended <- errors.New("not abandoned within 30s")
		return nil, nil
	}
}

func (b *blockingBackend) Compare(context.Context, ldap.Identity, *ldap.CompareRequest) (bool, error) {
	return false, nil
}
func (b *blockingBackend) Add(context.Context, ldap.Identity, *ldap.AddRequest) error { return nil }
func (b *blockingBackend) Modify(context.Context, ldap.Identity, *ldap.ModifyRequest) error {
	return nil
}
func (b *blockingBackend) Delete(context.Context, ldap.Identity, string) error { return nil }
func (b *blockingBackend) ModifyDN(context.Context, ldap.Identity, *ldap.ModifyDNRequest) error {
	return nil
}
func (b *blockingBackend) PasswordModify(context.Context, ldap.Identity, string, []byte, []byte) ([]byte, error) {
	return nil, nil
}
func (b *blockingBackend) BindExternal(context.Context, []*x509.Certificate, string) (ldap.Identity, error) {
	return ldap.Identity{}, nil
}

// TestLongOperationKeepsReading checks that an operation the reader runs
// inline and that runs long does not stop the connection's reading: a
// request and an abandon sent behind it are read and acted on while it
// runs (the takeover in inline.go), and the abandoned search ends with
// context.Canceled and sends nothing.
func TestLongOperationKeepsReading(t *testing.T) {
	b := &blockingBackend{started: make(chan struct{}, 1), ended: make(chan error, 1)}
	srv, err := ldap.NewServer(ldap.ServerConfig{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(t.Context(), ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	rc := dialRaw(t, "ldap://"+ln.Addr().String())

	rc.send(1, &ldap.SearchRequest{BaseObject: suffix, Scope: ldap.ScopeWholeSubtree, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}})
	<-b.started
	start := time.Now()
	rc.send(2, &ldap.ExtendedRequest{Name: ldap.OIDWhoAmI})
	m := rc.mustRecv()
	if m.ID != 2 || resultCode(t, m) != ldap.ResultSuccess {
		t.Fatalf("got message %d (%s), want the WhoAmI response", m.ID, ldap.OpName(m.Op.Tag()))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("WhoAmI behind a running search answered after %v", d)
	}
	rc.send(3, &ldap.AbandonRequest{ID: 1})
	select {
	case err := <-b.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("search ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the abandon was not acted on within 5s")
	}
	// Nothing for the abandoned search; the connection still answers.
	rc.send(4, &ldap.ExtendedRequest{Name: ldap.OIDWhoAmI})
	m = rc.mustRecv()
	if m.ID != 4 {
		t.Fatalf("got message %d (%s), want only the WhoAmI response", m.ID, ldap.OpName(m.Op.Tag()))
	}
}
