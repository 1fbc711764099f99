package main

import (
	"context"
	"time"

	"github.com/pkid/pkid/doctor"
	"github.com/pkid/pkid/internal/tlsregistry"
)

// probeScan runs `pkid probe --scan`: doctor.Scan with the probe's address,
// STARTTLS protocol and server name. --timeout bounds each connection (at
// most 5s); the whole scan is bounded at two minutes. The exit status is 1
// when the server accepts anything graded insecure.
func probeScan(ctx context.Context, g *globals, opts doctor.Options, asJSON bool) error {
	so := doctor.ScanOptions{Addr: opts.Addr, ServerName: opts.ServerName, StartTLS: opts.StartTLS, Timeout: 5 * time.Second}
	if opts.Timeout > 0 && opts.Timeout < so.Timeout {
		so.Timeout = opts.Timeout
	}
	rep, err := doctor.Scan(ctx, so)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(g.stdout, rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(g.stdout); err != nil {
		return err
	}
	if scanWorst(rep) == tlsregistry.Insecure {
		return exitCode(1)
	}
	return nil
}

// scanWorst is the worst verdict among everything the server accepts.
func scanWorst(rep *doctor.ScanReport) tlsregistry.Verdict {
	w := tlsregistry.VerdictNone
	for _, p := range rep.Protocols {
		if p.Supported {
			w = max(w, p.Verdict)
		}
	}
	for _, l := range rep.CipherSuites {
		for _, s := range l.Suites {
			w = max(w, s.Verdict)
		}
	}
	for _, gr := range rep.Groups {
		w = max(w, gr.Verdict)
	}
	for _, f := range rep.Features {
		w = max(w, f.Verdict)
	}
	return w
}
