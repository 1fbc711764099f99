package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pkid/pkid/lint"
)

func init() {
	register(&command{
		name:    "lint",
		args:    "FILE...|- [--issuer CA.pem] [--purpose server|client] [--json]",
		summary: "check certificates and CRLs for the mistakes that break TLS stacks",
		example: "pkid lint server.pem ca.pem crl.pem\npkid lint --json chain.pem\nopenssl s_client -connect host:443 -showcerts </dev/null | pkid lint -",
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print a JSON array with one entry per certificate or CRL")
			issuerFile := fs.String("issuer", "", "certificate of the CA that issued the linted objects (PEM or DER); enables issuer checks")
			purpose := fs.String("purpose", "", "how the certificates are used: server or client (default: infer)")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usagef("name at least one certificate or CRL file")
				}
				opts := lint.Options{}
				switch lint.Purpose(*purpose) {
				case lint.PurposeUnknown, lint.PurposeServer, lint.PurposeClient:
					opts.Purpose = lint.Purpose(*purpose)
				default:
					return usagef("--purpose must be server or client, not %q", *purpose)
				}
				if *issuerFile != "" {
					c, err := readCertificateFile(*issuerFile)
					if err != nil {
						return err
					}
					opts.Issuer = c
				}
				return runLint(g.stdin, g.stdout, g.stderr, args, opts, *asJSON)
			}
		},
	})
}

// maxLintInput bounds what `pkid lint -` reads from standard input.
const maxLintInput = 64 << 20

// lintEntry is one object in `pkid lint --json` output; a file that could
// not be linted is one entry with Error set.
type lintEntry struct {
	File     string         `json:"file"`
	Kind     lint.Kind      `json:"kind,omitempty"`
	Object   string         `json:"object,omitempty"`
	Findings []lint.Finding `json:"findings"`
	Error    string         `json:"error,omitempty"`
}

// runLint lints the named files ("-" is standard input) and prints one
// report per object; it ends with exitCode 1 when any finding is an error
// and 2 when a file could not be read or held no certificate or CRL.
func runLint(stdin io.Reader, stdout, stderr io.Writer, files []string, opts lint.Options, asJSON bool) error {
	var (
		entries    []lintEntry
		unreadable bool
		errors     bool
	)
	contents := make([][]byte, len(files))
	readErrs := make([]error, len(files))
	for i, name := range files {
		if name == "-" {
			contents[i], readErrs[i] = io.ReadAll(io.LimitReader(stdin, maxLintInput))
		} else {
			contents[i], readErrs[i] = os.ReadFile(name)
		}
		if opts.Issuer == nil && readErrs[i] == nil {
			// Every certificate named on the command line may be the
			// issuer of another object: `pkid lint ca.pem crl.pem` checks
			// the CRL against its CA.
			opts.Issuers = append(opts.Issuers, certificatesIn(contents[i])...)
		}
	}
	for i, name := range files {
		data, err := contents[i], readErrs[i]
		var reports []lint.Report
		if err == nil {
			reports, err = lint.Reports(data, opts)
			if err != nil {
				err = fmt.Errorf("%s: %w", name, err)
			}
		}
		if err != nil {
			unreadable = true
			fmt.Fprintf(stderr, "pkid lint: %v\n", err)
			entries = append(entries, lintEntry{File: name, Findings: []lint.Finding{}, Error: err.Error()})
			continue
		}
		for _, r := range reports {
			errors = errors || lint.HasErrors(r.Findings)
			entries = append(entries, lintEntry{File: name, Kind: r.Kind, Object: r.Object, Findings: r.Findings})
		}
	}
	if asJSON {
		if err := writeJSON(stdout, entries); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
	} else {
		printLint(stdout, entries)
	}
	switch {
	case unreadable:
		return exitCode(2)
	case errors:
		return exitCode(1)
	}
	return nil
}

func printLint(w io.Writer, entries []lintEntry) {
	counts := map[lint.Severity]int{}
	objects := 0
	for i, e := range entries {
		if e.Error != "" {
			continue
		}
		objects++
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s: %s\n", e.File, e.Object)
		if len(e.Findings) == 0 {
			fmt.Fprintln(w, "  ok: no findings")
		}
		for _, f := range e.Findings {
			counts[f.Severity]++
			fmt.Fprintf(w, "  %-7s %s (%s)\n", f.Severity, f.ID, f.Source)
			fmt.Fprintf(w, "          %s\n", f.Message)
			if f.Fix != "" {
				fmt.Fprintf(w, "          fix: %s\n", f.Fix)
			}
		}
	}
	if objects > 0 {
		fmt.Fprintf(w, "\n%d object(s): %d error(s), %d warning(s), %d notice(s)\n",
			objects, counts[lint.Error], counts[lint.Warning], counts[lint.Notice])
	}
}

// certificatesIn returns the certificates crypto/x509 can parse in PEM or
// DER data.
func certificatesIn(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	sawPEM := false
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if b.Type == "CERTIFICATE" {
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				out = append(out, c)
			}
		}
	}
	if !sawPEM {
		if c, err := x509.ParseCertificate(data); err == nil {
			out = append(out, c)
		}
	}
	return out
}
