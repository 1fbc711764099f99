package ca_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
)

// failingStore is a real store whose CreateCAs, while fail is set, fails
// inside the store's transaction: it adds a certificate of an unknown CA
// after Init's records, so the store itself must undo everything Init
// gave it. Any other CA or certificate write by Init is an error: Init's
// records must go through the one all-or-none call.
type failingStore struct {
	store.Store
	t     *testing.T
	fail  bool
	calls int
}

func (s *failingStore) CreateCAs(ctx context.Context, cas []*store.CA, issued []*store.Certificate) error {
	s.calls++
	if s.fail {
		issued = append(append([]*store.Certificate(nil), issued...),
			&store.Certificate{Serial: "FA11", CAID: "injected-failure", Status: store.StatusValid})
	}
	return s.Store.CreateCAs(ctx, cas, issued)
}

func (s *failingStore) CreateCA(context.Context, *store.CA) error {
	s.t.Error("Init stored a CA outside CreateCAs")
	return errors.New("CreateCA called")
}

func (s *failingStore) AddCertificates(context.Context, []*store.Certificate) error {
	s.t.Error("Init stored a certificate outside CreateCAs")
	return errors.New("AddCertificates called")
}

// TestInitAtomic: when the store fails Init's batch, no CA, certificate
// or feed record is left behind, and a second Init succeeds.
func TestInitAtomic(t *testing.T) {
	tests := []struct {
		name         string
		o            ca.InitOptions
		cas, issued  int
		wantFirstCAs []string
	}{
		{"two-tier", ca.InitOptions{}, 2, 1, []string{"root", "issuing"}},
		{"single", ca.InitOptions{Single: true}, 1, 0, []string{"ca"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st := &failingStore{Store: emptyStore(t), t: t, fail: true}
			if _, err := ca.Init(ctx, st, tc.o); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Init with a failing store: %v, want the store's ErrNotFound", err)
			}
			if cas, err := st.CAs(ctx); err != nil || len(cas) != 0 {
				t.Fatalf("CAs after a failed Init = %d, %v; want none", len(cas), err)
			}
			if certs, err := st.Certificates(ctx, store.Query{}); err != nil || len(certs) != 0 {
				t.Fatalf("certificates after a failed Init = %d, %v; want none", len(certs), err)
			}
			if rev, err := st.Revision(ctx); err != nil || rev != 0 {
				t.Fatalf("revision after a failed Init = %d, %v; want 0", rev, err)
			}

			st.fail = false
			res, err := ca.Init(ctx, st, tc.o)
			if err != nil {
				t.Fatalf("Init after a failed one: %v", err)
			}
			if st.calls != 2 {
				t.Errorf("CreateCAs called %d times by two Inits, want 2", st.calls)
			}
			cas, _ := st.CAs(ctx)
			certs, _ := st.Certificates(ctx, store.Query{})
			if len(cas) != tc.cas || len(res.CAs) != tc.cas || len(certs) != tc.issued {
				t.Fatalf("after Init: %d CAs (result %d), %d certificates; want %d, %d", len(cas), len(res.CAs), len(certs), tc.cas, tc.issued)
			}
			for i, id := range tc.wantFirstCAs {
				if cas[i].ID != id {
					t.Errorf("CA %d = %s, want %s", i, cas[i].ID, id)
				}
			}
			if tc.issued == 1 && (certs[0].CAID != "root" || string(certs[0].DER) != string(cas[1].CertDER)) {
				t.Errorf("issued certificate %s of %s is not the issuing CA's certificate from the root", certs[0].Serial, certs[0].CAID)
			}
		})
	}
}

// racingStore stores another init's CA just before Init's own write, as a
// concurrent `pkid init` on the same store would.
type racingStore struct {
	store.Store
	other *store.CA
}

func (s *racingStore) CreateCAs(ctx context.Context, cas []*store.CA, issued []*store.Certificate) error {
	if err := s.Store.CreateCAs(ctx, []*store.CA{s.other}, nil); err != nil {
		return err
	}
	return s.Store.CreateCAs(ctx, cas, issued)
}

// TestInitConcurrent: an Init that loses the race to another reports
// ErrInitialized and leaves only the winner's CA.
func TestInitConcurrent(t *testing.T) {
	tests := []struct {
		name string
		o    ca.InitOptions
		id   string
	}{
		{"two-tier", ca.InitOptions{}, "root"},
		{"single", ca.InitOptions{Single: true}, "ca"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			other := &store.CA{ID: tc.id, Role: store.RoleSingle, Subject: "CN=winner", CertDER: []byte("winner")}
			st := &racingStore{Store: emptyStore(t), other: other}
			_, err := ca.Init(ctx, st, tc.o)
			if !errors.Is(err, ca.ErrInitialized) || !errors.Is(err, store.ErrExists) {
				t.Fatalf("Init losing a race: %v, want ErrInitialized wrapping ErrExists", err)
			}
			cas, _ := st.CAs(ctx)
			certs, _ := st.Certificates(ctx, store.Query{})
			if len(cas) != 1 || cas[0].Subject != "CN=winner" || len(certs) != 0 {
				t.Fatalf("after the lost race: %d CAs (%v), %d certificates; want only the winner's CA", len(cas), cas, len(certs))
			}
		})
	}
}
