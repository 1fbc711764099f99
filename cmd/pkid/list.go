package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkid/pkid/store"
)

func init() {
	register(&command{
		name:    "list",
		args:    "[--status valid|revoked|expired] [--expiring-within 30d] [--ca ID] [--json]",
		summary: "list issued certificates",
		example: `pkid list --status valid --expiring-within 30d
pkid list --status revoked --json`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			status := fs.String("status", "", "only certificates that are valid (unexpired, not revoked; on hold counts as revoked), revoked, or expired (and not revoked)")
			within := fs.String("expiring-within", "", "only certificates whose validity ends within this span: 30d, 2w, 12h")
			caID := fs.String("ca", "", "only certificates issued by this CA")
			asJSON := fs.Bool("json", false, "print a JSON array")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				now := time.Now()
				q := store.Query{CAID: *caID, Now: now}
				yes, no := true, false
				switch *status {
				case "":
				case "valid":
					q.Status, q.Expired = store.StatusValid, &no
				case "revoked":
					q.Status = store.StatusRevoked
				case "expired":
					q.Status, q.Expired = store.StatusValid, &yes
				default:
					return usagef("--status %q: use valid, revoked or expired", *status)
				}
				if *within != "" {
					d, err := parseSpan(*within)
					if err != nil {
						return usagef("--expiring-within: %v", err)
					}
					q.NotAfterBefore = now.Add(d)
					if q.Expired == nil {
						q.Expired = &no
					}
				}
				st, err := g.openStore(ctx, false)
				if err != nil {
					return err
				}
				certs, err := st.Certificates(ctx, q)
				if err != nil {
					return fmt.Errorf("list certificates: %w", err)
				}
				if *asJSON {
					out := make([]*certJSON, len(certs))
					for i, c := range certs {
						out[i] = recordJSON(c, now)
					}
					return writeJSON(g.stdout, out)
				}
				if len(certs) == 0 {
					fmt.Fprintln(g.stderr, "No certificates match.")
					return nil
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "SERIAL\tSTATUS\tNOT AFTER\tCA\tPROFILE\tSUBJECT")
				for _, c := range certs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Serial, certStatus(c, now), c.NotAfter.UTC().Format("2006-01-02"), c.CAID, dash(c.Profile), c.Subject)
				}
				return tw.Flush()
			}
		},
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseSpan reads "30d", "2w", "12h", "90m" or any Go duration.
func parseSpan(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("%q is not a span like 30d, 2w or 12h", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a span like 30d, 2w or 12h", s)
	}
	return d, nil
}
