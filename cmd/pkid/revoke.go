package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/pkid/pkid/ca"
)

func init() {
	register(&command{
		name:    "revoke",
		args:    "SERIAL|CERTFILE --reason R [--invalidity-date T] | SERIAL|CERTFILE --release",
		summary: "revoke a certificate, put it on hold, or release it from hold",
		example: `pkid revoke 3A9F0C11D2E4B5A6978812345678ABCD --reason keyCompromise --invalidity-date 2026-01-31
pkid revoke www.pem --reason certificateHold
pkid revoke www.pem --release          # off hold again (same as --reason removeFromCRL)`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			reason := fs.String("reason", "", "RFC 5280 reason as OpenSSL spells it: "+ca.ReasonList()+" (cACompromise only for CA certificates)")
			invalidity := fs.String("invalidity-date", "", "when the key is known or suspected to have become invalid: RFC 3339 time or YYYY-MM-DD (start of day, UTC)")
			release := fs.Bool("release", false, "take a certificate off hold (certificateHold); --reason removeFromCRL does the same")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("give one serial or certificate file")
				}
				if strings.EqualFold(*reason, "removeFromCRL") {
					*release, *reason = true, ""
				}
				if *release && (*reason != "" || *invalidity != "") {
					return usagef("--release takes no --reason or --invalidity-date")
				}
				code := 0
				if !*release {
					if *reason == "" {
						return usagef("--reason is required: one of %s", ca.ReasonList())
					}
					var err error
					if code, err = ca.ParseReason(*reason); err != nil {
						return err
					}
				}
				var inv time.Time
				if *invalidity != "" {
					var err error
					if inv, err = parseDate(*invalidity, false); err != nil {
						return fmt.Errorf("--invalidity-date: %w", err)
					}
				}
				_, serial, err := certOrSerial(args[0])
				if err != nil {
					return err
				}
				svc, err := g.service(ctx)
				if err != nil {
					return err
				}
				if *release {
					c, err := svc.Release(ctx, serial)
					if err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "Released %s (%s) from hold; it is valid again.\n", c.Serial, c.Subject)
				} else {
					c, err := svc.Revoke(ctx, serial, code, inv)
					if err != nil {
						return err
					}
					verb := "Revoked"
					if code == ca.ReasonCertificateHold {
						verb = "Put on hold"
					}
					fmt.Fprintf(g.stdout, "%s %s (%s), reason %s, at %s.\n", verb, c.Serial, c.Subject, ca.ReasonName(code), c.RevokedAt.UTC().Format(time.RFC3339))
				}
				fmt.Fprintf(g.stdout, "\nPublish it:\n  pkid crl%s --out crl.pem\n", dirFlag(g))
				return nil
			}
		},
	})
}
