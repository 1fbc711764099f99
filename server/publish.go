package server

import (
	"fmt"

	"github.com/pkid/pkid/publish"
)

// newPublisher sets up the external LDAP publisher when Config.Publish
// names targets: it runs beside the other loops of Serve, each target in
// its own goroutine, so a dead directory delays nothing else; its metrics
// (pkid_publish_*) join the server's registry.
func (s *Server) newPublisher() error {
	if len(s.cfg.Publish) == 0 {
		return nil
	}
	p, err := publish.New(s.st, s.cfg.Publish, publish.Options{Log: s.log.With("component", "publish"), Time: s.cfg.Now, WatchInterval: s.cfg.WatchInterval})
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := s.metrics.reg.Register(p.Collector()); err != nil {
		return fmt.Errorf("publisher metrics: %w", err)
	}
	s.pub = p
	return nil
}

// PublishStatus returns the health of each external LDAP target (nil
// without Config.Publish).
func (s *Server) PublishStatus() []publish.TargetStatus {
	if s.pub == nil {
		return nil
	}
	return s.pub.Status()
}
