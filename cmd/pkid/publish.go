package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkid/pkid/publish"
	"github.com/pkid/pkid/server"
)

func init() {
	register(&command{
		name:    "publish",
		args:    "status [--config FILE] [--target NAME] [--json]",
		summary: "show what `pkid serve` has published to external LDAP directories",
		example: `pkid publish status
pkid publish status --config /etc/pkid/serve.json --json`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print a JSON array, one object per target and CA")
			target := fs.String("target", "", "only this target")
			configFile := fs.String("config", "", "the pkid serve configuration file whose publish targets to show (default: the targets the last started server recorded in the store)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 || args[0] != "status" {
					return usagef("want `pkid publish status`")
				}
				st, err := g.openStore(ctx, false)
				if err != nil {
					return err
				}
				var names []string
				if *configFile != "" {
					fc, err := server.ReadFile(*configFile)
					if err != nil {
						return err
					}
					names = []string{}
					for _, t := range fc.Publish {
						names = append(names, t.Name)
					}
				}
				if *target != "" {
					names = []string{*target}
				}
				now := time.Now()
				rows, err := publish.ReadStatus(ctx, st, names, now)
				if err != nil {
					return fmt.Errorf("read publish state: %w", err)
				}
				if *asJSON {
					if rows == nil {
						rows = []publish.CAStatus{}
					}
					return writeJSON(g.stdout, rows)
				}
				if len(rows) == 0 {
					fmt.Fprintln(g.stderr, "Nothing published yet: add publish targets to the `pkid serve` configuration.")
					return nil
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "TARGET\tCA\tCRL PUBLISHED\tCRL CURRENT\tLAG\tLAST SUCCESS\tLAST ERROR")
				for _, r := range rows {
					last := "never"
					if !r.LastSuccess.IsZero() {
						last = r.LastSuccess.UTC().Format(time.RFC3339)
					}
					lag := "0s"
					if r.LagSeconds > 0 {
						lag = time.Duration(r.LagSeconds * float64(time.Second)).Round(time.Millisecond).String()
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Target, r.CA, number(r.CRLNumber), number(r.CurrentCRL), lag, last, oneLine(r.LastError))
				}
				return tw.Flush()
			}
		},
	})
}

func number(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Join(strings.Fields(s), " ")
}
