package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pkid/pkid/ca"
)

func init() {
	register(&command{
		name:    "issue",
		args:    "--profile P --subject DN [--san LIST] [--key-type T | --csr FILE] [--days N | --not-after DATE] --out PREFIX [--ca ID]",
		summary: "issue a certificate (and a key, unless --csr) from the CA",
		example: `pkid issue --profile server --subject CN=www.example.org --san DNS:www.example.org,IP:192.0.2.10 --out www
pkid issue --profile client --subject "CN=alice,O=Example" --csr alice.csr --days 90 --out alice`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			profile := fs.String("profile", "", "certificate profile: "+ca.ProfileNames())
			subject := fs.String("subject", "", `subject DN, RFC 4514 ("CN=www.example.org,O=Example") or OpenSSL's "/O=Example/CN=www.example.org"; default: the CSR's`)
			sans := fs.String("san", "", "subject alternative names in OpenSSL's spelling: DNS:name,IP:addr,email:a@b,URI:uri (default: the CSR's; for server profiles a host-name CN becomes the DNS SAN)")
			keyType := fs.String("key-type", "", "type of the key pkid generates: "+keyTypeList()+" (default ecdsa-p256)")
			csrFile := fs.String("csr", "", "PKCS#10 request (PEM or DER) holding the key to certify; pkid then writes no key")
			days := fs.Int("days", 0, "days of validity (default per profile: 397, ocsp-signing 30, sub-ca 1825; never beyond the CA)")
			notAfter := fs.String("not-after", "", "end of validity: RFC 3339 time or YYYY-MM-DD (the end of that day, UTC)")
			out := fs.String("out", "", "write PREFIX.pem, PREFIX.key.pem (0600) and PREFIX.chain.pem")
			caID := fs.String("ca", "", "ID of the issuing CA (default: the default CA; for sub-ca the root)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *profile == "" {
					return usagef("--profile is required: one of %s", ca.ProfileNames())
				}
				if *out == "" {
					return usagef("--out PREFIX is required")
				}
				if *keyType != "" && *csrFile != "" {
					return usagef("give --key-type or --csr, not both: the CSR carries the key")
				}
				req := ca.Request{Profile: *profile, Subject: *subject, SANs: *sans, KeyType: ca.KeyType(*keyType), Days: *days, CAID: *caID}
				if *notAfter != "" {
					t, err := parseDate(*notAfter, true)
					if err != nil {
						return fmt.Errorf("--not-after: %w", err)
					}
					req.NotAfter = t
				}
				if *csrFile != "" {
					b, err := os.ReadFile(*csrFile)
					if err != nil {
						return fmt.Errorf("read --csr: %w", err)
					}
					req.CSR = b
				}
				files := []string{*out + ".pem", *out + ".chain.pem"}
				if *csrFile == "" {
					files = append(files, *out+".key.pem")
				}
				for _, f := range files {
					if _, err := os.Stat(f); err == nil {
						return fmt.Errorf("%s exists; choose another --out or remove it (pkid does not overwrite certificates and keys)", f)
					} else if !errors.Is(err, os.ErrNotExist) {
						return err
					}
				}
				if dir := filepath.Dir(*out); dir != "" {
					if st, err := os.Stat(dir); err != nil || !st.IsDir() {
						return fmt.Errorf("--out %s: directory %s does not exist", *out, dir)
					}
				}
				svc, err := g.service(ctx)
				if err != nil {
					return err
				}
				iss, err := svc.Issue(ctx, req)
				if err != nil {
					return err
				}
				// The certificate is stored; now hand it over.
				if iss.Key != nil {
					keyPEM, err := iss.KeyPEM()
					if err != nil {
						return err
					}
					if err := writeNew(*out+".key.pem", keyPEM, 0o600); err != nil {
						return fmt.Errorf("certificate %s was issued but its key could not be written: %w", iss.Serial, err)
					}
				}
				if err := writeNew(*out+".pem", iss.CertPEM(), 0o644); err != nil {
					return err
				}
				if err := writeNew(*out+".chain.pem", iss.ChainPEM(), 0o644); err != nil {
					return err
				}
				c := iss.Certificate
				w := g.stdout
				fmt.Fprintf(w, "Issued %s certificate %s\n  subject  %s\n", *profile, iss.Serial, certSubject(c))
				if names := sanList(c); names != "" {
					fmt.Fprintf(w, "  names    %s\n", names)
				}
				fmt.Fprintf(w, "  valid    until %s (CA %s)\n", c.NotAfter.UTC().Format(time.RFC3339), iss.CAID)
				if iss.Key != nil {
					fmt.Fprintf(w, "Wrote %s.pem, %s.key.pem (keep it secret) and %s.chain.pem.\n", *out, *out, *out)
				} else {
					fmt.Fprintf(w, "Wrote %s.pem and %s.chain.pem.\n", *out, *out)
				}
				fmt.Fprintf(w, "\nCheck it:\n  openssl verify -CAfile %s -untrusted %s %s.pem\n", shellQuote(filepath.Join(g.dir, "ca.pem")), shellQuote(filepath.Join(g.dir, "chain.pem")), shellQuote(*out))
				return nil
			}
		},
	})
}

// writeNew creates path, refusing to replace an existing file.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// parseDate reads an RFC 3339 time or a YYYY-MM-DD date; a date alone means
// the end of that day (endOfDay) or its start, in UTC.
func parseDate(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date: use YYYY-MM-DD or an RFC 3339 time like 2030-01-31T12:00:00Z", s)
	}
	if endOfDay {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, nil
}
