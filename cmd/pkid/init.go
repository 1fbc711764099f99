package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkid/pkid/ca"
)

func init() {
	register(&command{
		name:    "init",
		args:    "[--name DN] [--key-type T] [--single] [--url BASE] [--ldap-url URL]",
		summary: "create the CA: a root and an issuing CA (or one CA with --single)",
		example: `pkid init --name "CN=Example Issuing CA,O=Example" --url http://pki.example.org:8080
PKID_PASSPHRASE=... pkid init       # encrypt the CA keys`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			name := fs.String("name", "", `DN of the issuing CA (or of the one CA with --single); the root gets the same DN with "Issuing" in its CN replaced by "Root", or " Root" appended to the CN (default "CN=pkid Issuing CA,O=pkid" and "CN=pkid Root CA,O=pkid")`)
			keyType := fs.String("key-type", string(ca.DefaultKeyType), "CA key type: "+keyTypeList())
			single := fs.Bool("single", false, `one self-signed CA that issues (ID "ca") instead of a root and an issuing CA`)
			base := fs.String("url", "", "http base URL put into issued certificates: AIA caIssuers BASE/ca/ID.der, OCSP BASE/ocsp, CRL BASE/crl/ID.crl")
			ldapURL := fs.String("ldap-url", "", "ldap://host:port adding the CRL distribution point ldap://host:port/<CA DN>?certificateRevocationList;binary")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				kt, err := ca.ParseKeyType(*keyType)
				if err != nil {
					return err
				}
				pass, err := g.newPassphrase()
				if err != nil {
					return err
				}
				st, err := g.openStore(ctx, true)
				if err != nil {
					return err
				}
				res, err := ca.Init(ctx, st, ca.InitOptions{Name: *name, KeyType: kt, Single: *single, URL: *base, LDAPURL: *ldapURL, Passphrase: pass})
				if errors.Is(err, ca.ErrInitialized) {
					return fmt.Errorf("%s already has a CA: %w", g.dir, err)
				}
				if err != nil {
					return err
				}
				caFile, chainFile := filepath.Join(g.dir, "ca.pem"), filepath.Join(g.dir, "chain.pem")
				if err := writeFileAtomic(caFile, res.RootsPEM, 0o644); err != nil {
					return err
				}
				if err := writeFileAtomic(chainFile, res.ChainPEM, 0o644); err != nil {
					return err
				}
				out := g.stdout
				for _, rec := range res.CAs {
					cert, _ := x509.ParseCertificate(rec.CertDER)
					role := rec.Role
					if rec.Default {
						role += ", issues by default"
					}
					fmt.Fprintf(out, "Created CA %-8s %s (%s, %s, valid until %s)\n", rec.ID, rec.Subject, kt, role, cert.NotAfter.Format("2006-01-02"))
				}
				if len(pass) > 0 {
					fmt.Fprintln(out, "The CA keys are encrypted with your passphrase; pkid asks for it when it signs.")
				} else {
					fmt.Fprintln(out, "The CA keys are NOT encrypted (give PKID_PASSPHRASE or --passphrase-file to `pkid init` to encrypt them).")
				}
				fmt.Fprintf(out, "Wrote %s (the root to trust) and %s (issuing CA + root).\n\n", caFile, chainFile)
				fmt.Fprintf(out, "Next, issue a server certificate:\n  pkid issue%s --profile server --subject CN=www.example.org --san DNS:www.example.org --out www\n", dirFlag(g))
				return nil
			}
		},
	})
}

func keyTypeList() string {
	names := make([]string, len(ca.KeyTypes))
	for i, k := range ca.KeyTypes {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// dirFlag repeats --dir in printed next commands when it is not the
// default, so they work as printed.
func dirFlag(g *globals) string {
	if g.dir == "pkid-data" || os.Getenv("PKID_DIR") == g.dir {
		return ""
	}
	return " --dir " + shellQuote(g.dir)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '=' || r == ',' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeFileAtomic writes via a temporary file and rename, so readers never
// see half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
