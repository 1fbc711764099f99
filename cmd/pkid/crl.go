package main

import (
	"context"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pkid/pkid/ca"
)

func init() {
	register(&command{
		name:    "crl",
		args:    "[--ca ID] [--out FILE] [--der] [--delta]",
		summary: "make, sign and store a new CRL (full, or --delta) and write it",
		example: "pkid crl --out crl.pem\nopenssl verify -CAfile pkid-data/ca.pem -untrusted pkid-data/chain.pem -crl_check -CRLfile crl.pem leaf.pem",
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			caID := fs.String("ca", "", "CA whose CRL to make (default: the default CA)")
			out := fs.String("out", "", "write the CRL to FILE instead of stdout")
			der := fs.Bool("der", false, "write DER instead of PEM")
			delta := fs.Bool("delta", false, "make a delta CRL against the latest full CRL")
			validity := fs.Duration("next-update", 0, "time from thisUpdate to nextUpdate (default 168h for a full CRL, 24h for a delta)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *validity < 0 {
					return usagef("--next-update must be positive")
				}
				svc, err := g.service(ctx)
				if err != nil {
					return err
				}
				crl, err := svc.CRLWith(ctx, *caID, ca.CRLOptions{Delta: *delta, Validity: *validity})
				if err != nil {
					return err
				}
				data := crl.DER
				if !*der {
					data = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl.DER})
				}
				where := "stdout"
				if *out != "" {
					if err := os.WriteFile(*out, data, 0o644); err != nil {
						return fmt.Errorf("write CRL: %w", err)
					}
					where = *out
				} else if _, err := g.stdout.Write(data); err != nil {
					return fmt.Errorf("write CRL: %w", err)
				}
				n, _ := ca.CRLEntryCount(crl.DER)
				kind := "CRL"
				if crl.Delta {
					kind = fmt.Sprintf("delta CRL (base %d)", crl.BaseNumber)
				}
				fmt.Fprintf(g.stderr, "%s %d of CA %q: %d revoked, nextUpdate %s; written to %s\n",
					kind, crl.Number, crl.CAID, n, crl.NextUpdate.UTC().Format(time.RFC3339), where)
				switch {
				case *out == "":
				case *der:
					fmt.Fprintf(g.stderr, "inspect it:\n  openssl crl -inform DER -in %s -noout -text\n", *out)
				case crl.CAID == "root":
					fmt.Fprintf(g.stderr, "the root's CRL covers the issuing CA; check a leaf with both CRLs:\n  pkid crl --out issuing-crl.pem && cat %s issuing-crl.pem > crls.pem\n  openssl verify -CAfile %s -untrusted %s -crl_check_all -CRLfile crls.pem CERT.pem\n",
						*out, filepath.Join(g.dir, "ca.pem"), filepath.Join(g.dir, "chain.pem"))
				default:
					fmt.Fprintf(g.stderr, "check a certificate against it:\n  openssl verify -CAfile %s -untrusted %s -crl_check -CRLfile %s CERT.pem\n",
						filepath.Join(g.dir, "ca.pem"), filepath.Join(g.dir, "chain.pem"), *out)
				}
				return nil
			}
		},
	})
}
