package server

import "context"

// CheckResponders runs the hourly responder-certificate renewal check now.
func (s *Server) CheckResponders(ctx context.Context) { s.checkResponders(ctx) }
