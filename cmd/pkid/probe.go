package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pkid/pkid/doctor"
	"github.com/pkid/pkid/revocation"
)

func init() {
	register(&command{
		name:    "probe",
		args:    "HOST:PORT [--starttls ldap|smtp|imap|postgres] [--servername N] [--cert F --key F] [--ca F] [--tls1.2|--tls1.3] [--keylog F] [--json] [--no-revocation] [--timeout D] [--scan]",
		summary: "show what a TLS handshake carried, check the chain and revocation, and explain failures",
		example: "pkid probe ldap.example.com:389 --starttls ldap --ca pkid-data/ca.pem\n" +
			"pkid probe 127.0.0.1:1636 --cert pkid-data/admin.chain.pem --key pkid-data/admin.key.pem --ca pkid-data/ca.pem",
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			starttls := fs.String("starttls", "", "upgrade from a plaintext `PROTOCOL` first: ldap, smtp, imap or postgres")
			serverName := fs.String("servername", "", "`NAME` to send in SNI and check the certificate against (default: the host)")
			certFile := fs.String("cert", "", "client certificate `FILE` (PEM, may include the chain) to offer when the server asks")
			keyFile := fs.String("key", "", "private key `FILE` of --cert (PEM)")
			caFile := fs.String("ca", "", "trusted root certificates `FILE` (PEM); default: the system roots")
			tls12 := fs.Bool("tls1.2", false, "offer TLS 1.2 only")
			tls13 := fs.Bool("tls1.3", false, "offer TLS 1.3 only")
			keylog := fs.String("keylog", "", "append the session secrets to `FILE` in NSS key log format (for Wireshark)")
			asJSON := fs.Bool("json", false, "print the report as JSON")
			noRev := fs.Bool("no-revocation", false, "do not check revocation (OCSP, CRL)")
			timeout := fs.Duration("timeout", 10*time.Second, "bound for the whole probe")
			alpn := fs.String("alpn", "", "comma-separated application `PROTOCOLS` to offer (ALPN), e.g. h2,http/1.1")
			scan := fs.Bool("scan", false, "enumerate the versions, cipher suites and groups the server accepts")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("name one server as HOST:PORT")
				}
				if *tls12 && *tls13 {
					return usagef("--tls1.2 and --tls1.3 exclude each other")
				}
				if (*certFile == "") != (*keyFile == "") {
					return usagef("--cert and --key go together")
				}
				switch *starttls {
				case "", "ldap", "smtp", "imap", "postgres":
				default:
					return usagef("--starttls must be ldap, smtp, imap or postgres, not %q", *starttls)
				}
				opts := doctor.Options{
					Addr: args[0], StartTLS: *starttls, ServerName: *serverName,
					TLS12Only: *tls12, TLS13Only: *tls13, Timeout: *timeout,
				}
				if *alpn != "" {
					opts.ALPN = strings.Split(*alpn, ",")
				}
				if *certFile != "" {
					c, err := tls.LoadX509KeyPair(*certFile, *keyFile)
					if err != nil {
						return fmt.Errorf("load client certificate %s with key %s: %w", *certFile, *keyFile, err)
					}
					opts.Certificate = &c
				}
				if *caFile != "" {
					pool, err := loadRoots(*caFile)
					if err != nil {
						return err
					}
					opts.RootCAs = pool
				}
				if *keylog != "" {
					f, err := os.OpenFile(*keylog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
					if err != nil {
						return fmt.Errorf("open key log: %w", err)
					}
					g.closers = append(g.closers, f)
					opts.KeyLogWriter = f
				}
				if !*noRev {
					// The checker follows http:// and ldap:// distribution
					// points (revocation.LDAPFetcher is its default).
					opts.Revocation = revocation.New(revocation.Config{})
				}
				if *scan {
					return probeScan(ctx, g, opts, *asJSON)
				}
				return runProbe(ctx, g, opts, *asJSON)
			}
		},
	})
}

func loadRoots(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read --ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		if c, err := x509.ParseCertificate(b); err == nil {
			pool.AddCert(c)
		} else {
			return nil, fmt.Errorf("--ca %s holds no PEM or DER certificate", file)
		}
	}
	return pool, nil
}

// runProbe prints the report; the exit status is 0 when the handshake and
// the verification succeeded, 1 when problems were found.
func runProbe(ctx context.Context, g *globals, opts doctor.Options, asJSON bool) error {
	r, err := doctor.Probe(ctx, opts)
	if r == nil {
		return usagef("%v", err)
	}
	if asJSON {
		if err := writeJSON(g.stdout, r); err != nil {
			return err
		}
	} else {
		printReport(g.stdout, r)
	}
	if err != nil || len(r.Problems) > 0 || !r.Verification.Verified {
		return exitCode(1)
	}
	return nil
}

func printReport(w io.Writer, r *doctor.Report) {
	sec := func(title string) { fmt.Fprintf(w, "\n== %s\n", title) }
	kv := func(k, format string, a ...any) { fmt.Fprintf(w, "  %-22s %s\n", k+":", fmt.Sprintf(format, a...)) }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

	sec("Connection")
	kv("server", "%s (name %s)", r.Addr, r.ServerName)
	if r.StartTLS != "" {
		kv("STARTTLS", "%s", r.StartTLS)
	}
	if r.Error != "" {
		kv("error", "%s", r.Error)
	}
	if r.Alert != nil {
		kv("alert received", "%d %s, %s", r.Alert.Code, r.Alert.Name, r.Alert.Stage)
	}
	if r.Version != "" {
		kv("version", "%s", r.Version)
		kv("cipher suite", "%s", r.Suite)
		if r.Group != "" {
			kv("key exchange group", "%s (%04X)", r.Group, r.GroupID)
		}
		alpn := r.ALPN
		if alpn == "" {
			alpn = "none negotiated"
		}
		kv("ALPN", "%s", alpn)
	}
	if len(r.Offer.Suites) > 0 {
		var hex []string
		for _, s := range r.Offer.Suites {
			hex = append(hex, s.Hex)
		}
		kv("we offered", "%s; suites %s", strings.Join(r.Offer.Versions, ", "), strings.Join(hex, ""))
		kv("our groups", "%s", strings.Join(r.Offer.Groups, ", "))
	}
	for _, rt := range r.Retries {
		res := rt.Error
		if rt.OK {
			res = "works: " + rt.Version + ", " + rt.Suite.String()
			if rt.ServerKey != "" {
				res += ", server key " + rt.ServerKey
			}
		}
		kv("retry", "%s: %s", rt.Purpose, res)
	}

	if len(r.Chain) > 0 {
		title := "Chain (as sent by the server)"
		if r.ChainSent > len(r.Chain) {
			title = fmt.Sprintf("Chain (as sent by the server: %d certificates, the first %d shown)", r.ChainSent, len(r.Chain))
		}
		sec(title)
		for i, c := range r.Chain {
			fmt.Fprintf(w, "  %d subject: %s\n", i, c.Subject)
			fmt.Fprintf(w, "    issuer:   %s\n", c.Issuer)
			fmt.Fprintf(w, "    serial:   %s\n", c.Serial)
			fmt.Fprintf(w, "    validity: %s to %s\n", c.NotBefore.Format(time.DateTime), c.NotAfter.Format(time.DateTime))
			key := fmt.Sprintf("%s %d bits", c.KeyType, c.KeyBits)
			if c.Curve != "" {
				key += " (" + c.Curve + ")"
			}
			fmt.Fprintf(w, "    key:      %s, signed %s\n", key, c.Signature)
			if len(c.KeyUsage) > 0 || len(c.ExtKeyUse) > 0 {
				fmt.Fprintf(w, "    usage:    %s; EKU %s\n", strings.Join(c.KeyUsage, ", "), strings.Join(c.ExtKeyUse, ", "))
			}
			if c.SKI != "" || c.AKI != "" {
				fmt.Fprintf(w, "    SKI/AKI:  %s / %s\n", orNone(c.SKI), orNone(c.AKI))
			}
			if len(c.SANs) > 0 {
				fmt.Fprintf(w, "    SANs:     %s\n", strings.Join(c.SANs, ", "))
			}
			if len(c.OCSP)+len(c.CAIssuers) > 0 {
				fmt.Fprintf(w, "    AIA:      OCSP %s; caIssuers %s\n", orNone(strings.Join(c.OCSP, " ")), orNone(strings.Join(c.CAIssuers, " ")))
			}
			if len(c.CRLs) > 0 {
				fmt.Fprintf(w, "    CDP:      %s\n", strings.Join(c.CRLs, " "))
			}
			for _, f := range c.Lint {
				fmt.Fprintf(w, "    lint %s: %s %s\n", f.Severity, f.ID, f.Message)
			}
		}
	}

	if len(r.Chain) > 0 {
		v := r.Verification
		sec("Verification")
		if v.Verified {
			kv("result", "OK for %s", v.Hostname)
		} else {
			kv("result", "FAILED: %s", v.Error)
		}
		for _, ch := range v.Chains {
			kv("chain", "%s", strings.Join(ch, " <- "))
		}
		if v.ClientWouldSay != "" {
			kv("a client would say", "%s", v.ClientWouldSay)
		}
	}

	if r.Revocation != nil || r.OCSPStaple != nil {
		sec("Revocation")
		if s := r.OCSPStaple; s != nil {
			kv("OCSP staple", "%s (this update %s, next %s) %s", s.Status, s.ThisUpdate.Format(time.DateTime), s.NextUpdate.Format(time.DateTime), s.Error)
		}
		if rv := r.Revocation; rv != nil {
			if len(rv.Statuses) == 0 && rv.Error != "" {
				kv("checked", "%s", rv.Error)
			} else if len(rv.Statuses) == 0 {
				kv("checked", "nothing: the chain holds no certificate below the trust anchor")
			}
			for _, st := range rv.Statuses {
				line := st.State
				if st.Method != "" {
					line += " by " + st.Method
				}
				if st.Source != "" {
					line += " (" + st.Source + ")"
				}
				if st.State == "revoked" {
					line += fmt.Sprintf(": %s since %s", st.Reason, st.RevokedAt.Format(time.DateTime))
				}
				if st.Error != "" {
					line += ": " + st.Error
				}
				kv(st.Subject, "%s", line)
			}
		}
	}

	if cr := r.CertificateRequest; cr != nil {
		sec("Client certificate request")
		kv("acceptable CA names", "%d", len(cr.AcceptableCAs))
		for _, ca := range cr.AcceptableCAs {
			fmt.Fprintf(w, "    %s\n", ca)
		}
		if len(cr.CertificateTypes) > 0 {
			kv("certificate types", "%s", strings.Join(cr.CertificateTypes, ", "))
		}
		kv("signature algorithms", "%s", strings.Join(cr.SignatureAlgorithms, ":"))
	}
	if cc := r.ClientCertificate; cc != nil {
		if r.CertificateRequest == nil {
			sec("Client certificate request")
			kv("requested", "no (the server did not ask for a certificate)")
		}
		kv("our certificate", "%s (issued by %s, %s key)", cc.Certificate.Subject, cc.Certificate.Issuer, cc.Certificate.KeyType)
		kv("sent", "%v", cc.Sent)
		if r.CertificateRequest != nil {
			kv("fits acceptable CAs", "%v %s", cc.MatchesAcceptableCA, cc.MatchedCA)
		}
		if cc.Unsuitable != "" {
			kv("unsuitable", "%s", cc.Unsuitable)
		}
		for _, f := range cc.Certificate.Lint {
			fmt.Fprintf(w, "    lint %s: %s %s\n", f.Severity, f.ID, f.Message)
		}
	}

	if r.Version != "" {
		sec("Session")
		kv("ticket received", "%v", r.Session.TicketReceived)
		if r.Session.ResumeTried {
			res := fmt.Sprintf("%v (%s)", r.Session.Resumed, ms(r.Session.ResumeTime))
			if r.Session.ResumeError != "" {
				res += ": " + r.Session.ResumeError
			}
			kv("resumed", "%s", res)
		}
	}

	sec("Timings")
	t := r.Timings
	kv("TCP connect", "%s", ms(t.Connect))
	if r.StartTLS != "" {
		kv("STARTTLS", "%s", ms(t.StartTLS))
	}
	if t.Handshake > 0 {
		kv("handshake", "%s", ms(t.Handshake))
	}
	if t.Verify > 0 {
		kv("verification", "%s", ms(t.Verify))
	}
	if t.Revocation > 0 {
		kv("revocation", "%s", ms(t.Revocation))
	}
	kv("total", "%s", ms(t.Total))

	sec("Problems")
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "  none: the handshake and the verification succeeded")
		return
	}
	for i, p := range r.Problems {
		fmt.Fprintf(w, "  %d. [%s]\n     Observed: %s\n     Cause:    %s\n     Fix:      %s\n", i+1, p.ID, p.Observed, p.Cause, p.Fix)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
