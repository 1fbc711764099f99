package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/pkid/pkid/server"
)

// servePprof serves Go's runtime profiles on a loopback address of their
// own, never on the public listeners, so profiling a server under load is
// one flag away (`go tool pprof http://ADDR/debug/pprof/profile?seconds=10`).
func servePprof(addr string) (stop func(), err error) {
	if !server.IsLoopback(addr) {
		return nil, fmt.Errorf("--pprof %s: profiles reveal the process's memory; give a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
