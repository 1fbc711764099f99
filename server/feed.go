package server

import (
	"context"
	"math/big"

	"github.com/pkid/pkid/store"
)

// follow applies the store's change feed, from revision after on, until
// ctx ends: a revocation or release re-signs the certificate's OCSP
// responses at once and schedules its CA's CRL; an issuance drops any
// cached "unknown" for the new serial; a new CA is served; a CRL stored by
// another process is served.
func (s *Server) follow(ctx context.Context, after int64) {
	for changes := range store.Watch(ctx, s.st, after, s.cfg.WatchInterval) {
		for _, ch := range changes {
			s.apply(ctx, ch)
		}
		last := changes[len(changes)-1].Revision
		s.revision.Store(last)
		s.metrics.revision.Set(float64(last))
	}
}

func (s *Server) apply(ctx context.Context, ch store.Change) {
	switch ch.Kind {
	case store.ChangeRevoke, store.ChangeRelease:
		c := s.caByID(ch.CAID)
		if c == nil {
			s.reloadCAs(ctx)
			if c = s.caByID(ch.CAID); c == nil {
				return
			}
		}
		if sn, ok := new(big.Int).SetString(ch.Serial, 16); ok && c.signs {
			if err := s.resp.Refresh(ctx, ch.CAID, sn); err != nil {
				// The next request looks the status up again.
				s.resp.Invalidate(ch.CAID, sn)
				s.log.Warn("OCSP re-sign", "ca", ch.CAID, "serial", ch.Serial, "err", err)
			}
		}
		s.log.Info(string(ch.Kind), "ca", ch.CAID, "serial", ch.Serial, "revision", ch.Revision, "at", ch.At)
		s.markDirty(c, pending{revision: ch.Revision, at: ch.At})
	case store.ChangeIssue:
		if sn, ok := new(big.Int).SetString(ch.Serial, 16); ok {
			s.resp.Invalidate(ch.CAID, sn)
		}
	case store.ChangeCA:
		s.reloadCAs(ctx)
	case store.ChangeCRL:
		if c := s.caByID(ch.CAID); c != nil {
			if err := s.loadStoredCRL(ctx, c); err != nil {
				s.log.Warn("CRL", "ca", ch.CAID, "err", err)
			}
		}
	}
}
