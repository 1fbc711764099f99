package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
)

func init() {
	register(&command{
		name:    "show",
		args:    "SERIAL|CERTFILE [--json]",
		summary: "show a certificate and its revocation state",
		example: `pkid show 3A9F0C11D2E4B5A6978812345678ABCD
pkid show www.pem --json`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("give one serial or certificate file")
				}
				now := time.Now()
				cert, serial, err := certOrSerial(args[0])
				if err != nil {
					return err
				}
				var rec *store.Certificate
				st, err := g.openStore(ctx, false)
				switch {
				case err == nil:
					rec, err = st.Certificate(ctx, serial)
					if errors.Is(err, store.ErrNotFound) {
						if cert == nil {
							return fmt.Errorf("no certificate with serial %s in %s; `pkid list` shows the serials", serial, g.dir)
						}
						rec, err = nil, nil
					}
					if err != nil {
						return fmt.Errorf("look up %s: %w", serial, err)
					}
				case cert == nil:
					return err
				}
				if cert == nil {
					if cert, err = x509.ParseCertificate(rec.DER); err != nil {
						return fmt.Errorf("stored certificate %s: %w", serial, err)
					}
				}
				j := &certJSON{Serial: serial}
				if rec != nil {
					j = recordJSON(rec, now)
				} else if now.After(cert.NotAfter) {
					j.Status = "expired"
				} else {
					j.Status = "unknown to this CA"
				}
				addCertDetails(j, cert)
				inStore := rec != nil
				j.InStore = &inStore
				if *asJSON {
					return writeJSON(g.stdout, j)
				}
				printCert(g, j)
				return nil
			}
		},
	})
}

// certOrSerial reads arg as a certificate file when one exists by that
// name, else as a serial.
func certOrSerial(arg string) (*x509.Certificate, string, error) {
	if b, err := os.ReadFile(arg); err == nil {
		c, err := ca.ParseCertificate(b)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", arg, err)
		}
		return c, ca.FormatSerial(c.SerialNumber), nil
	}
	serial, err := ca.ParseSerial(arg)
	if err != nil {
		return nil, "", fmt.Errorf("%w (and no file %s exists)", err, arg)
	}
	return nil, serial, nil
}

func printCert(g *globals, j *certJSON) {
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	status := j.Status
	if j.RevokedAt != nil {
		status += fmt.Sprintf(" (%s, %s", j.Reason, j.RevokedAt.Format(time.RFC3339))
		if j.InvalidityDate != nil {
			status += ", key invalid since " + j.InvalidityDate.Format(time.RFC3339)
		}
		status += ")"
	}
	row("Serial", j.Serial)
	row("Status", status)
	row("Subject", j.Subject)
	row("Issuer", j.Issuer)
	row("CA", j.CA)
	row("Profile", j.Profile)
	row("Not before", j.NotBefore.Format(time.RFC3339))
	row("Not after", j.NotAfter.Format(time.RFC3339))
	row("Key", j.Key)
	row("SANs", strings.Join(j.SANs, ", "))
	row("Key usage", strings.Join(j.KeyUsage, ", "))
	row("Ext key usage", strings.Join(j.ExtKeyUsage, ", "))
	if j.IsCA != nil && *j.IsCA {
		row("CA certificate", "yes")
	}
	row("Subject key ID", j.SubjectKeyID)
	row("Authority key ID", j.AuthorityKeyID)
	row("CRL", strings.Join(j.CRLDistribution, " "))
	row("OCSP", strings.Join(j.OCSP, " "))
	row("CA issuers", strings.Join(j.CAIssuers, " "))
	tw.Flush()
}
