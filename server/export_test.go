package server

import (
	"context"
	"net/http"
)

// CheckResponders runs the hourly responder-certificate renewal check now.
func (s *Server) CheckResponders(ctx context.Context) { s.checkResponders(ctx) }

// OCSPResponder is the responder alone, for benchmarks.
func (s *Server) OCSPResponder() http.Handler { return s.resp }

// RefreshDueCRLs runs the once-a-minute nextUpdate check now.
func (s *Server) RefreshDueCRLs(ctx context.Context) { s.refreshDueCRLs(ctx) }
