package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pkid/pkid/ca"
)

func init() {
	register(&command{
		name:    "import",
		args:    "openssl --ca-cert F --ca-key F --index index.txt [--crlnumber F] [--certs DIR] [--id ID]",
		summary: "take over an existing `openssl ca` directory (CA, index.txt, CRL numbering)",
		example: "pkid import openssl --ca-cert demoCA/cacert.pem --ca-key demoCA/private/cakey.pem \\\n    --index demoCA/index.txt --crlnumber demoCA/crlnumber --certs demoCA/newcerts\npkid crl --ca imported --out crl.pem",
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			certFile := fs.String("ca-cert", "", "the CA certificate (openssl.cnf: certificate)")
			keyFile := fs.String("ca-key", "", "the CA private key (openssl.cnf: private_key)")
			keyPass := fs.String("ca-key-passphrase-file", "", "file holding the passphrase of an encrypted --ca-key")
			index := fs.String("index", "", "the index.txt database (openssl.cnf: database)")
			crlnumber := fs.String("crlnumber", "", "the crlnumber file, to continue CRL numbering (openssl.cnf: crlnumber)")
			certs := fs.String("certs", "", "the new_certs_dir holding SERIAL.pem, to keep the certificates themselves")
			id := fs.String("id", "", "ID of the new CA in pkid (default: imported, imported-2, ...)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 || args[0] != "openssl" {
					return usagef("the first argument names the source; only \"openssl\" (an `openssl ca` directory) exists")
				}
				for flagName, v := range map[string]string{"--ca-cert": *certFile, "--ca-key": *keyFile, "--index": *index} {
					if v == "" {
						return usagef("%s is required", flagName)
					}
				}
				in := ca.OpenSSLImport{ID: *id, CertsDir: *certs}
				var err error
				if in.CACert, err = os.ReadFile(*certFile); err != nil {
					return fmt.Errorf("read CA certificate: %w", err)
				}
				if in.CAKey, err = os.ReadFile(*keyFile); err != nil {
					return fmt.Errorf("read CA key: %w", err)
				}
				if *keyPass != "" {
					b, err := os.ReadFile(*keyPass)
					if err != nil {
						return fmt.Errorf("read CA key passphrase: %w", err)
					}
					in.KeyPassphrase = importTrimNewline(b)
				}
				if *crlnumber != "" {
					if in.CRLNumber, err = os.ReadFile(*crlnumber); err != nil {
						return fmt.Errorf("read crlnumber: %w", err)
					}
				}
				if *certs != "" {
					if fi, err := os.Stat(*certs); err != nil || !fi.IsDir() {
						return fmt.Errorf("--certs %s is not a directory", *certs)
					}
				}
				f, err := os.Open(*index)
				if err != nil {
					return fmt.Errorf("read index: %w", err)
				}
				defer f.Close()
				in.Index = f
				// Like init: a given passphrase encrypts the key; on a
				// terminal pkid asks; otherwise the key stays unencrypted.
				if in.Passphrase, err = g.newPassphrase(); err != nil {
					return err
				}
				// Check everything before the store (and data directory)
				// is created, so bad input leaves no trace.
				plan, err := ca.PrepareOpenSSLImport(in)
				if err != nil {
					return err
				}
				st, err := g.openStore(ctx, true)
				if err != nil {
					return err
				}
				res, err := plan.Apply(ctx, st)
				if err != nil {
					return err
				}
				enc := "unencrypted (give --passphrase-file or PKID_PASSPHRASE to encrypt it)"
				if res.CA.Encrypted {
					enc = "encrypted with your passphrase"
				}
				fmt.Fprintf(g.stderr, "imported CA %q (%s) into %s: %d valid, %d revoked, %d expired entries (%d with their certificate); key %s; next CRL number %d\n",
					res.CA.ID, res.CA.Subject, g.dir, res.Valid, res.Revoked, res.Expired, res.WithCertificate, enc, res.NextCRLNumber)
				caFlag := " --ca " + res.CA.ID
				if res.CA.Default {
					caFlag = ""
					fmt.Fprintf(g.stderr, "it is the default CA\n")
				}
				fmt.Fprintf(g.stderr, "next: pkid crl%s --out %s\n", caFlag, filepath.Join(g.dir, res.CA.ID+"-crl.pem"))
				return nil
			}
		},
	})
}

func importTrimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
