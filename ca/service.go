package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pkid/pkid/store"
)

// Options configure a Service. The zero value is usable: keys are
// unencrypted or the first use fails asking for a passphrase, time is
// time.Now, randomness is crypto/rand.
type Options struct {
	// Passphrase returns the passphrase of encrypted CA keys. It is called
	// at most once, when the first encrypted key is needed.
	Passphrase func() ([]byte, error)
	// Time is the clock; nil = time.Now.
	Time func() time.Time
	// Rand is the source of serials and keys; nil = crypto/rand.Reader.
	Rand io.Reader
	// Where names the data directory or store for messages ("pkid-data").
	Where string
	// MaxBatch bounds how many certificates one store transaction commits
	// (group commit); 0 = 256.
	MaxBatch int
	// BatchDelay bounds how long the writer waits for callers that are
	// still making their certificates before it commits what is queued
	// (it waits only while they outnumber the queued callers, never for a
	// lone caller); 0 = 10 ms, negative = never wait (batches then form
	// only while the previous commit runs).
	BatchDelay time.Duration
}

// Service issues and revokes certificates of the CAs in a store. It is safe
// for concurrent use; concurrent Issue calls are committed together
// (group commit). The CLI and the servers share it.
type Service struct {
	st   store.Store
	opts Options

	passOnce sync.Once
	pass     []byte
	passErr  error

	mu        sync.Mutex
	auths     map[string]*authEntry
	defaultCA string // cached: the CA set changes only with init/import

	commitOnce sync.Once
	commit     *committer
}

type authEntry struct {
	once sync.Once
	a    *Authority
	err  error
}

// Authority is a CA ready to sign: its record, certificate, key and the
// chain of its issuers.
type Authority struct {
	CA     *store.CA
	Cert   *x509.Certificate
	Signer crypto.Signer
	// Chain is the CA's certificate followed by its issuers' up to the
	// root, the order TLS peers expect.
	Chain []*x509.Certificate
}

// ChainPEM is the Authority's chain as PEM.
func (a *Authority) ChainPEM() []byte { return certsPEM(a.Chain) }

// New returns a Service over st.
func New(st store.Store, opts Options) *Service {
	if opts.Time == nil {
		opts.Time = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.BatchDelay == 0 {
		opts.BatchDelay = defaultMaxWait
	}
	if opts.Where == "" {
		opts.Where = "the store"
	}
	return &Service{st: st, opts: opts, auths: map[string]*authEntry{}}
}

// Store is the store the Service writes to.
func (s *Service) Store() store.Store { return s.st }

// Close stops the commit writer after the batches in flight. It does not
// close the store.
func (s *Service) Close() error {
	s.commitOnce.Do(func() {}) // no writer may start after Close
	if s.commit != nil {
		s.commit.close()
	}
	return nil
}

// committer returns the group-commit writer, starting it on first use.
func (s *Service) committer() (*committer, error) {
	s.commitOnce.Do(func() { s.commit = newCommitter(s.st, s.opts.MaxBatch, s.opts.BatchDelay) })
	if s.commit == nil {
		return nil, errServiceClosed
	}
	return s.commit, nil
}

func (s *Service) now() time.Time { return s.opts.Time() }

func (s *Service) passphrase() ([]byte, error) {
	s.passOnce.Do(func() {
		if s.opts.Passphrase == nil {
			s.passErr = errors.New("the CA key is encrypted and no passphrase source is configured")
			return
		}
		s.pass, s.passErr = s.opts.Passphrase()
	})
	return s.pass, s.passErr
}

// DefaultCA returns the ID of the CA that issues when none is named. It is
// read once per Service (the hot issuance path must not query the store).
func (s *Service) DefaultCA(ctx context.Context) (string, error) {
	s.mu.Lock()
	id := s.defaultCA
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := s.readDefaultCA(ctx)
	if err == nil {
		s.mu.Lock()
		s.defaultCA = id
		s.mu.Unlock()
	}
	return id, err
}

func (s *Service) readDefaultCA(ctx context.Context) (string, error) {
	cas, err := s.st.CAs(ctx)
	if err != nil {
		return "", fmt.Errorf("read CAs: %w", err)
	}
	if len(cas) == 0 {
		return "", fmt.Errorf("no CA in %s yet; create one with `pkid init`", s.opts.Where)
	}
	for _, c := range cas {
		if c.Default {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("no default CA in %s; name one with --ca (one of %s)", s.opts.Where, caIDs(cas))
}

func caIDs(cas []*store.CA) string {
	s := ""
	for i, c := range cas {
		if i > 0 {
			s += ", "
		}
		s += c.ID
	}
	return s
}

// Authority returns the CA with that ID, with its key decrypted (asking
// for the passphrase the first time an encrypted key is needed). The result
// is cached for the life of the Service.
func (s *Service) Authority(ctx context.Context, id string) (*Authority, error) {
	s.mu.Lock()
	e := s.auths[id]
	if e == nil {
		e = &authEntry{}
		s.auths[id] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.a, e.err = s.loadAuthority(ctx, id) })
	if e.err != nil {
		// Do not cache failures that a retry could fix (a cancelled
		// context, a busy store).
		s.mu.Lock()
		if s.auths[id] == e {
			delete(s.auths, id)
		}
		s.mu.Unlock()
	}
	return e.a, e.err
}

func (s *Service) loadAuthority(ctx context.Context, id string) (*Authority, error) {
	rec, cert, err := s.caCert(ctx, id)
	if err != nil {
		return nil, err
	}
	a := &Authority{CA: rec, Cert: cert, Chain: []*x509.Certificate{cert}}
	for parent, depth := rec.ParentID, 0; parent != "" && depth < 8; depth++ {
		prec, pcert, err := s.caCert(ctx, parent)
		if err != nil {
			return nil, err
		}
		a.Chain = append(a.Chain, pcert)
		parent = prec.ParentID
	}
	if len(rec.KeyPEM) == 0 {
		return nil, fmt.Errorf("pkid holds no private key for CA %q (%s)", id, rec.Subject)
	}
	var pass []byte
	if IsEncryptedKey(rec.KeyPEM) {
		if pass, err = s.passphrase(); err != nil {
			return nil, err
		}
	}
	key, err := ParsePrivateKey(rec.KeyPEM, pass)
	if errors.Is(err, ErrWrongPassphrase) {
		return nil, fmt.Errorf("wrong passphrase for the key of CA %q in %s; give the passphrase used with `pkid init` (--passphrase-file, PKID_PASSPHRASE or the prompt): %w", id, s.opts.Where, ErrWrongPassphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("key of CA %q in %s: %w", id, s.opts.Where, err)
	}
	if eq, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("the key of CA %q in %s does not match its certificate (%s); the store is inconsistent", id, s.opts.Where, rec.Subject)
	}
	a.Signer = key
	return a, nil
}

func (s *Service) caCert(ctx context.Context, id string) (*store.CA, *x509.Certificate, error) {
	rec, err := s.st.CA(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		cas, _ := s.st.CAs(ctx)
		if len(cas) == 0 {
			return nil, nil, fmt.Errorf("no CA in %s yet; create one with `pkid init`", s.opts.Where)
		}
		return nil, nil, fmt.Errorf("no CA %q in %s; the CAs are %s", id, s.opts.Where, caIDs(cas))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read CA %q: %w", id, err)
	}
	cert, err := x509.ParseCertificate(rec.CertDER)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate of CA %q: %w", id, err)
	}
	return rec, cert, nil
}

func certsPEM(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// CertPEM encodes one DER certificate as PEM.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
