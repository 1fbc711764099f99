package server

// Several `pkid serve` nodes on one store (store/postgres).
//
// What each node shares and what it keeps to itself:
//
//   - The CA hierarchy, certificates, revocations, CRLs and CRL numbers
//     live in the store. The first node creates the CA (bootstrap runs
//     under the store lock "bootstrap", so two nodes starting at once on
//     an empty store do not both create one); every later node serves it
//     and writes the same ca.pem and chain.pem into its own data directory.
//   - The administrator's certificate is issued once, by the node that
//     creates the CA (its serial is kept in the store setting
//     adminSerialKey); its key exists only in that node's data directory.
//     Later nodes issue no second administrator; an operator who wants one
//     on another machine issues it with `pkid issue --profile client`.
//   - Each node issues its own delegated OCSP responder certificate per CA
//     at its first start and keeps the key in its own Dir/ocsp: responder
//     keys never leave a node, and every node can answer OCSP alone.
//   - Exactly one node signs each CRL: CRL generation runs under the store
//     lock "crl/<CA ID>", and the holder first takes over the latest stored
//     CRL, signing only if a revocation is newer than that CRL's revision.
//     The other nodes pick the new CRL up from the change feed (kind
//     "crl").
//   - Each node watches the store (storeCheck); when it becomes unreachable
//     the node keeps answering OCSP from its pre-signed cache until the
//     responses' nextUpdate, reports 503 with the reason on /healthz and
//     logs the change of state once, and again when the store is back.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
)

// adminSerialKey is the store setting that records the serial of the
// administrator's certificate issued with the CA.
const adminSerialKey = "server/admin-serial"

// lockWait bounds how long a node waits for a store lock another node
// holds (bootstrap, CRL signing) before giving up with an error.
const lockWait = 30 * time.Second

// lockPoll is how often a held store lock is tried again.
const lockPoll = 20 * time.Millisecond

// storeCheck is how often a node checks that its store is reachable.
const storeCheck = time.Second

// storeHealth is a node's view of its store: reachable or not, and since
// when.
type storeHealth struct {
	mu    sync.Mutex
	err   error     // nil: reachable
	since time.Time // when the current state began
}

// waitLock takes the named store lock, waiting (up to lockWait) while
// another node holds it.
func (s *Server) waitLock(ctx context.Context, name string) (unlock func(), err error) {
	deadline := time.Now().Add(lockWait)
	for {
		unlock, ok, err := store.TryLock(ctx, s.st, name)
		if err != nil {
			return nil, fmt.Errorf("take the store lock %q: %w", name, err)
		}
		if ok {
			return unlock, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("another node has held the store lock %q for more than %v", name, lockWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// lockCRL takes the lock under which one node at a time signs a CA's CRLs.
func (s *Server) lockCRL(ctx context.Context, caID string) (unlock func(), err error) {
	return s.waitLock(ctx, "crl/"+caID)
}

// writeTrustFiles writes ca.pem and chain.pem from the store's CAs when
// the data directory lacks them: a node that joins a store another node
// created hands clients the same files.
func (s *Server) writeTrustFiles(b *Bootstrap) error {
	byID := map[string]*store.CA{}
	for _, c := range b.CAs {
		byID[c.ID] = c
	}
	var chain []byte
	var root *store.CA
	for c, depth := b.DefaultCA, 0; c != nil && depth < 8; depth++ {
		chain = append(chain, ca.CertPEM(c.CertDER)...)
		root = c
		c = byID[c.ParentID]
		if root.ParentID == "" {
			break
		}
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{b.CAFile, ca.CertPEM(root.CertDER)}, {b.ChainFile, chain}} {
		if _, err := os.Stat(f.path); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if err := writeFileAtomic(f.path, f.data, 0o644); err != nil {
			return err
		}
		s.log.Info("wrote the store's CA certificates", "file", f.path)
	}
	return nil
}

// adminIssuedElsewhere reports whether the store records an
// administrator's certificate issued with the CA (by this or another
// node), so a node without admin.pem must not issue a second one.
func (s *Server) adminIssuedElsewhere(ctx context.Context) (string, bool, error) {
	serial, err := s.st.Meta(ctx, adminSerialKey)
	if errors.Is(err, store.ErrNotFound) || err == nil && serial == "" {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read the administrator's serial: %w", err)
	}
	return serial, true, nil
}

// watchStoreHealth checks the store every storeCheck until ctx ends.
func (s *Server) watchStoreHealth(ctx context.Context) {
	t := time.NewTicker(storeCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, storeCheck)
		_, err := s.st.Revision(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.storeResult(err)
	}
}

// storeDown reports whether the last store check failed.
func (s *Server) storeDown() bool {
	s.storeHealth.mu.Lock()
	defer s.storeHealth.mu.Unlock()
	return s.storeHealth.err != nil
}

// storeResult records the outcome of a store check and logs a change of
// state, once.
func (s *Server) storeResult(err error) {
	h := &s.storeHealth
	h.mu.Lock()
	was := h.err
	h.err = err
	changed := (was == nil) != (err == nil)
	var since time.Time
	if changed {
		since, h.since = h.since, time.Now()
	}
	h.mu.Unlock()
	switch {
	case !changed:
	case err != nil:
		s.log.Error("store unreachable: answering OCSP from the pre-signed cache until each response's nextUpdate; CRLs, new revocations and issuance wait for the store",
			"err", err, "cached_ocsp", s.resp.Cached())
	default:
		s.log.Info("store reachable again", "down_for", time.Since(since).Round(time.Millisecond))
	}
}
