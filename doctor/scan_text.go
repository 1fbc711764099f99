package doctor

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteText writes the report for a terminal: one section per kind of
// finding, each line with the code, the names and the verdict with its
// reason.
func (r *ScanReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	sni := r.ServerName
	if sni == "" {
		sni = "none"
	}
	fmt.Fprintf(tw, "Scan of %s (SNI %s): %d connections in %s\n", r.Target, sni, r.Connections, r.Elapsed.Round(time.Millisecond))

	fmt.Fprintf(tw, "\nProtocols\n")
	for _, p := range r.Protocols {
		if p.Supported {
			fmt.Fprintf(tw, "  %s\tyes\t%s\t%s\n", p.Name, p.Verdict, p.Reason)
		} else {
			fmt.Fprintf(tw, "  %s\tno\t\t%s\n", p.Name, p.Detail)
		}
	}
	for _, l := range r.CipherSuites {
		order := "client's order: the server takes the client's first choice"
		if l.ServerOrder {
			order = "server's order"
		}
		fmt.Fprintf(tw, "\nCipher suites, %s (%s)\n", l.Name, order)
		if len(l.Suites) == 0 {
			fmt.Fprintf(tw, "  none accepted\n")
		}
		for _, s := range l.Suites {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Hex, s.IANA, s.OpenSSL, s.Verdict, s.Reason)
		}
	}
	if len(r.Groups) > 0 {
		fmt.Fprintf(tw, "\nKey-exchange groups\n")
		for _, g := range r.Groups {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", g.Name, g.Hex, g.Group, g.Verdict, g.Reason)
		}
	}
	if len(r.SignatureSchemes) > 0 {
		fmt.Fprintf(tw, "\nSignature schemes the server can use\n")
		for _, s := range r.SignatureSchemes {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Name, s.Hex, s.IANA, s.Verdict, s.Reason)
		}
	}
	if len(r.Features) > 0 {
		fmt.Fprintf(tw, "\nFeatures\n")
		for _, f := range r.Features {
			yes := "no"
			if f.Supported {
				yes = "yes"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name, yes, f.Verdict, f.Reason)
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(tw, "\nProblems (findings may be incomplete)\n")
		for _, p := range r.Problems {
			fmt.Fprintf(tw, "  %s\n", p)
		}
	}
	return tw.Flush()
}
