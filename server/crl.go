package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/store"
)

// crlCheck is how often CRLs are checked for an approaching nextUpdate.
const crlCheck = time.Minute

// crlRetry is how long a failed CRL rebuild waits before trying again.
const crlRetry = time.Second

// published is one CRL or certificate as served over HTTP.
type published struct {
	der, pem         []byte
	etagDER, etagPEM string
	// modified is Last-Modified: the CRL's thisUpdate (kept strictly
	// increasing, so If-Modified-Since never hides a CRL made within the
	// same second as the last), or the certificate's NotBefore.
	modified               time.Time
	thisUpdate, nextUpdate time.Time // zero for certificates
	number, base, revision int64     // CRLs only
}

func newPublished(der []byte, pemType string, modified time.Time) *published {
	p := &published{der: der, pem: pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), modified: modified.UTC().Truncate(time.Second)}
	sum := sha256.Sum256(der)
	tag := hex.EncodeToString(sum[:12])
	p.etagDER, p.etagPEM = `"`+tag+`"`, `"`+tag+`-pem"`
	return p
}

func publishedCRL(c *store.CRL, prev *published) *published {
	p := newPublished(c.DER, "X509 CRL", c.ThisUpdate)
	if prev != nil && !p.modified.After(prev.modified) {
		p.modified = prev.modified.Add(time.Second)
	}
	p.thisUpdate, p.nextUpdate = c.ThisUpdate, c.NextUpdate
	p.number, p.base, p.revision = c.Number, c.BaseNumber, c.Revision
	return p
}

// pending is a revocation (or release) not yet in a served CRL.
type pending struct {
	revision int64
	at       time.Time
}

// crlSet is what the server serves for one CA's CRLs.
type crlSet struct {
	full, delta atomic.Pointer[published]
}

// due reports whether a CRL should be replaced: half its validity has
// passed, well before nextUpdate.
func due(p *published, now time.Time) bool {
	if p == nil {
		return true
	}
	return !now.Before(p.thisUpdate.Add(p.nextUpdate.Sub(p.thisUpdate) / 2))
}

// markDirty schedules a CRL rebuild for c and remembers the revocation
// for the propagation metric.
func (s *Server) markDirty(c *caState, p pending) {
	s.mu.Lock()
	c.dirty = true
	if !p.at.IsZero() {
		c.pending = append(c.pending, p)
	}
	s.mu.Unlock()
	select {
	case s.crlKick <- struct{}{}:
	default:
	}
}

// runCRLs rebuilds CRLs: after revocations (once CRLDelay has passed
// since the first, so a burst costs one CRL) and when nextUpdate
// approaches. It returns when ctx ends.
func (s *Server) runCRLs(ctx context.Context) {
	t := time.NewTicker(crlCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.crlKick:
			wait := time.NewTimer(s.cfg.CRLDelay)
			select {
			case <-ctx.Done():
				wait.Stop()
				return
			case <-wait.C:
			}
			s.rebuildDirty(ctx)
		case <-t.C:
			s.refreshDueCRLs(ctx)
		}
	}
}

// refreshDueCRLs re-signs the CRLs of which half the validity has passed.
func (s *Server) refreshDueCRLs(ctx context.Context) {
	for _, c := range s.caList() {
		if c.signs && (due(c.crls.full.Load(), s.now()) || c.rec().DeltaCRL && due(c.crls.delta.Load(), s.now())) {
			if err := s.updateCRL(ctx, c); err != nil {
				s.metrics.crlErrors.WithLabelValues(c.id).Inc()
				s.log.Error("CRL", "ca", c.id, "err", err)
			}
		}
	}
}

// rebuildDirty rebuilds the CRLs of every CA marked dirty.
func (s *Server) rebuildDirty(ctx context.Context) {
	for _, c := range s.caList() {
		s.mu.Lock()
		dirty, waiting := c.dirty, c.pending
		c.dirty, c.pending = false, nil
		s.mu.Unlock()
		if !dirty || !c.signs {
			continue
		}
		if err := s.updateCRL(ctx, c); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.metrics.crlErrors.WithLabelValues(c.id).Inc()
			if s.storeDown() {
				// Logged once as the store's state (cluster.go).
				s.log.Debug("CRL rebuild waits for the store", "ca", c.id, "err", err)
			} else {
				s.log.Error("CRL rebuild failed; retrying", "ca", c.id, "err", err)
			}
			s.mu.Lock()
			c.pending = append(waiting, c.pending...)
			s.mu.Unlock()
			time.AfterFunc(crlRetry, func() { s.markDirty(c, pending{}) })
			continue
		}
		served := c.crls.full.Load()
		now := time.Now()
		var later []pending
		for _, p := range waiting {
			if served != nil && p.revision <= served.revision {
				s.metrics.propagation.Observe(now.Sub(p.at).Seconds())
			} else {
				later = append(later, p)
			}
		}
		if len(later) > 0 {
			s.mu.Lock()
			c.pending = append(later, c.pending...)
			s.mu.Unlock()
		}
	}
}

// updateCRL brings the CRLs of c up to date: it adopts a newer CRL
// stored by another process, and signs a new one only when the revoked
// set changed since the served CRL or its nextUpdate approaches, so an
// idle server does not use up CRL numbers.
func (s *Server) updateCRL(ctx context.Context, c *caState) error {
	// One node at a time: the holder takes over the CRL another node just
	// stored and signs only if something is newer (cluster.go).
	unlock, err := s.lockCRL(ctx, c.id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.loadStoredCRL(ctx, c); err != nil {
		return err
	}
	s.mu.Lock()
	id, rec, force := c.id, c.rec(), c.forceCRL
	c.forceCRL = false
	s.mu.Unlock()
	cur := c.crls.full.Load()
	build := force || cur == nil || due(cur, s.now())
	if !build {
		changed, err := s.changedSince(ctx, id, cur.revision)
		if err != nil {
			return err
		}
		build = changed
	}
	if build {
		crl, err := s.svc.CRL(ctx, id, false)
		if err != nil {
			if force {
				s.mu.Lock()
				c.forceCRL = true
				s.mu.Unlock()
			}
			return err
		}
		s.metrics.crlBuilds.WithLabelValues(id, "full").Inc()
		offer(&c.crls.full, crl)
		s.log.Info("CRL", "ca", id, "number", crl.Number, "revision", crl.Revision, "next_update", crl.NextUpdate)
	}
	if !rec.DeltaCRL {
		return nil
	}
	full, delta := c.crls.full.Load(), c.crls.delta.Load()
	if build || delta == nil || delta.base != full.number || due(delta, s.now()) {
		crl, err := s.svc.CRL(ctx, id, true)
		if err != nil {
			return err
		}
		s.metrics.crlBuilds.WithLabelValues(id, "delta").Inc()
		offer(&c.crls.delta, crl)
	}
	return nil
}

var errFound = errors.New("found")

// changedSince reports whether a CA's revoked set changed after revision
// rev: a revocation, or a release from hold.
func (s *Server) changedSince(ctx context.Context, caID string, rev int64) (bool, error) {
	err := s.st.RevokedSince(ctx, caID, rev, func(*store.RevokedEntry) error { return errFound })
	if errors.Is(err, errFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("CRL of CA %q: %w", caID, err)
	}
	return false, nil
}

// loadStoredCRL serves the latest CRLs of the store when they are newer
// than the served ones (another process ran `pkid crl`).
func (s *Server) loadStoredCRL(ctx context.Context, c *caState) error {
	for _, delta := range []bool{false, true} {
		if delta && !c.rec().DeltaCRL {
			continue
		}
		crl, err := s.st.LatestCRL(ctx, c.id, delta)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read the CRL of CA %q: %w", c.id, err)
		}
		slot := &c.crls.full
		if delta {
			slot = &c.crls.delta
		}
		offer(slot, crl)
	}
	return nil
}

// offer serves crl in slot unless a CRL with the same or a higher number
// is served already (the feed and the CRL builder both offer CRLs).
func offer(slot *atomic.Pointer[published], crl *store.CRL) {
	for {
		cur := slot.Load()
		if cur != nil && crl.Number <= cur.number {
			return
		}
		if slot.CompareAndSwap(cur, publishedCRL(crl, cur)) {
			return
		}
	}
}
