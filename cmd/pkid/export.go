package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/pkid/pkid/ca"
)

func init() {
	register(&command{
		name:    "export",
		args:    "SERIAL|CERTFILE|ca --format pem|der|p12|chain [--out FILE] [--password-file F] [--key F] [--ca ID]",
		summary: "write a certificate (or the CA's) as PEM, DER, a chain or PKCS#12",
		example: "pkid export 5A0F... --format p12 --key web.key.pem --out web.p12\nopenssl pkcs12 -info -nokeys -in web.p12",
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			format := fs.String("format", "pem", "pem, der, chain (certificate + issuers up to the root) or p12")
			out := fs.String("out", "", "write to FILE instead of stdout")
			passFile := fs.String("password-file", "", "p12: file holding the password (default: a fresh random one, printed once on stderr)")
			keyFile := fs.String("key", "", "p12: the certificate's private key (pkid keeps none); without it the p12 holds certificates only")
			caID := fs.String("ca", "", "with `ca`: which CA (default: the default CA)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("name one certificate serial, or `ca`")
				}
				f, err := ca.ParseExportFormat(*format)
				if err != nil {
					return usagef("%v", err)
				}
				req := ca.ExportRequest{Format: f}
				if strings.EqualFold(args[0], "ca") {
					req.CAID = *caID
				} else {
					if *caID != "" {
						return usagef("--ca goes with `ca`, not with a serial")
					}
					req.Serial = args[0]
					// A certificate file names its serial, as with `pkid show`.
					if b, err := os.ReadFile(args[0]); err == nil {
						c, err := ca.ParseCertificate(b)
						if err != nil {
							return fmt.Errorf("%s: %w", args[0], err)
						}
						req.Serial = ca.FormatSerial(c.SerialNumber)
					}
				}
				if f != ca.ExportP12 && (*passFile != "" || *keyFile != "") {
					return usagef("--password-file and --key go with --format p12")
				}
				if *keyFile != "" {
					b, err := os.ReadFile(*keyFile)
					if err != nil {
						return fmt.Errorf("read key: %w", err)
					}
					if req.Key, err = ca.ParsePrivateKey(b, nil); err != nil {
						return fmt.Errorf("key %s: %w", *keyFile, err)
					}
				}
				generated := false
				if f == ca.ExportP12 {
					if *passFile != "" {
						b, err := os.ReadFile(*passFile)
						if err != nil {
							return fmt.Errorf("read password file: %w", err)
						}
						if req.Password = string(importTrimNewline(b)); req.Password == "" {
							return fmt.Errorf("password file %s is empty", *passFile)
						}
					} else {
						req.Password, generated = ca.ExportPassword(), true
					}
				}
				svc, err := g.service(ctx)
				if err != nil {
					return err
				}
				data, err := svc.Export(ctx, req)
				if err != nil {
					return err
				}
				if *out != "" {
					mode := os.FileMode(0o644)
					if f == ca.ExportP12 {
						mode = 0o600
					}
					if err := os.WriteFile(*out, data, mode); err != nil {
						return fmt.Errorf("write %s: %w", *out, err)
					}
				} else if _, err := g.stdout.Write(data); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				if generated {
					fmt.Fprintf(g.stderr, "p12 password (shown once): %s\n", req.Password)
				}
				if f == ca.ExportP12 && *out != "" {
					fmt.Fprintf(g.stderr, "inspect it: openssl pkcs12 -info -nokeys -in %s\n", *out)
				}
				return nil
			}
		},
	})
}
