package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pkid/pkid/doctor"
	"github.com/pkid/pkid/gsk"
	"github.com/pkid/pkid/internal/tlsregistry"
)

func init() {
	register(&command{
		name:    "gsk",
		args:    "decode STRING...|- | encode NAME... | plan --cert FILE [--peer HOST:PORT]",
		summary: "translate IBM GSKit / z/OS System SSL cipher, signature and key-share strings",
		example: `pkid gsk decode GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02BC030C02FC024C023130313011302
pkid gsk decode - < ldap.envvars
pkid gsk decode --kind group 00300029002500240023
pkid gsk encode --kind cipher TLS_AES_128_GCM_SHA256 ECDHE-ECDSA-AES256-GCM-SHA384
pkid gsk plan --cert server.pem
(decode exits 1 after printing when a string has unknown codes, duplicates or other problems)`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			kind := fs.String("kind", "", "how to read a bare value or names: cipher (4-hex suites), cipher2 (2-hex GSK_V3_CIPHER_SPECS), sigalg, group (4-decimal ids)")
			asJSON := fs.Bool("json", false, "print decode and plan results as JSON")
			certFile := fs.String("cert", "", "plan: the System SSL endpoint's certificate (PEM or DER)")
			peerAddr := fs.String("peer", "", "plan: HOST:PORT of the peer; it is scanned (as pkid probe --scan does) and the plan keeps only what it accepts")
			role := fs.String("role", "both", "plan: server, client or both (which GSK_SERVER_/GSK_CLIENT_ variables to write)")
			versions := fs.String("versions", "1.2,1.3", "plan: TLS versions to enable, comma-separated")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usagef("say decode, encode or plan")
				}
				k, err := gsk.ParseKind(*kind)
				if err != nil {
					return usagef("%v", err)
				}
				switch args[0] {
				case "decode":
					return gskDecode(g, k, *asJSON, args[1:])
				case "encode":
					return gskEncode(g, k, args[1:])
				case "plan":
					if len(args) > 1 {
						return usagef("plan takes no arguments, only --cert FILE")
					}
					return gskPlan(ctx, g, *certFile, *peerAddr, *role, *versions, *asJSON)
				}
				return usagef("unknown gsk subcommand %q: say decode, encode or plan", args[0])
			}
		},
	})
}

func gskDecode(g *globals, kind gsk.Kind, asJSON bool, args []string) error {
	if len(args) == 0 {
		return usagef("decode needs strings to decode, or - to read them from stdin")
	}
	var parts []string
	for _, a := range args {
		if a != "-" {
			parts = append(parts, a)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(g.stdin, gsk.MaxInput+1))
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		parts = append(parts, string(b))
	}
	rep, err := gsk.Decode(strings.Join(parts, "\n"), kind)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(g.stdout, rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(g.stdout); err != nil {
		return err
	}
	if n := rep.ProblemCount(); n > 0 {
		if !asJSON {
			fmt.Fprintf(g.stderr, "pkid gsk: %d problem(s) found\n", n)
		}
		return exitCode(1)
	}
	return nil
}

func gskEncode(g *globals, kind gsk.Kind, names []string) error {
	if len(names) == 0 {
		return usagef("encode needs names, e.g. TLS_AES_128_GCM_SHA256 ECDHE-ECDSA-AES256-GCM-SHA384")
	}
	// Names may come comma- or colon-separated, as OpenSSL lists them.
	var split []string
	for _, n := range names {
		for _, f := range strings.FieldsFunc(n, func(r rune) bool { return r == ',' || r == ':' }) {
			split = append(split, f)
		}
	}
	if kind == gsk.KindAuto {
		k, err := gsk.KindOf(split)
		if err != nil {
			return err
		}
		kind = k
	}
	v, err := gsk.Encode(kind, split)
	if err != nil {
		return err
	}
	if name := gsk.Variable(kind); name != "" {
		fmt.Fprintf(g.stdout, "%s=%s\n", name, v)
	} else {
		fmt.Fprintln(g.stdout, v)
	}
	return nil
}

func gskPlan(ctx context.Context, g *globals, certFile, peerAddr, role, versions string, asJSON bool) error {
	if certFile == "" {
		return usagef("plan needs --cert FILE, the System SSL endpoint's certificate")
	}
	cert, err := readCertificateFile(certFile)
	if err != nil {
		return err
	}
	req, err := gsk.KeyTypeOf(cert)
	if err != nil {
		return err
	}
	switch role {
	case "both", "":
		req.Role = gsk.RoleBoth
	case "server":
		req.Role = gsk.RoleServer
	case "client":
		req.Role = gsk.RoleClient
	default:
		return usagef("--role %q: say server, client or both", role)
	}
	for _, v := range strings.Split(versions, ",") {
		ver, ok := tlsregistry.VersionByName(strings.TrimSpace(v))
		if !ok {
			return usagef("--versions: %q is not a TLS version (say 1.2,1.3)", v)
		}
		req.Versions = append(req.Versions, ver)
	}
	if peerAddr != "" {
		if req.Peer, err = gskScanPeer(ctx, peerAddr); err != nil {
			return err
		}
	}
	p, err := gsk.Plan(req)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(g.stdout, p)
	}
	desc := string(req.KeyType)
	if req.Curve != "" {
		desc += " " + req.Curve
	}
	fmt.Fprintf(g.stdout, "# System SSL environment for %q (%s key)\n", cert.Subject.String(), desc)
	fmt.Fprint(g.stdout, p.String())
	fmt.Fprintf(g.stdout, "# check it: pkid gsk decode - < FILE\n")
	return nil
}

// gskScanPeer scans the peer with the TLS doctor's scanner and keeps what
// gsk.Plan needs: the versions, suites, groups and signature schemes it
// accepts.
func gskScanPeer(ctx context.Context, addr string) (*gsk.Peer, error) {
	rep, err := doctor.Scan(ctx, doctor.ScanOptions{Addr: addr})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", addr, err)
	}
	peer := &gsk.Peer{}
	seen := map[[2]uint16]bool{}
	add := func(kind, code uint16, list *[]uint16) {
		if k := [2]uint16{kind, code}; !seen[k] {
			seen[k] = true
			*list = append(*list, code)
		}
	}
	for _, p := range rep.Protocols {
		if p.Supported {
			peer.Versions = append(peer.Versions, p.Version)
		}
	}
	for _, l := range rep.CipherSuites {
		for _, s := range l.Suites {
			add(0, s.Code, &peer.Suites)
		}
	}
	for _, gr := range rep.Groups {
		add(1, gr.ID, &peer.Groups)
	}
	for _, sc := range rep.SignatureSchemes {
		add(2, sc.Scheme, &peer.SignatureSchemes)
	}
	if len(peer.Versions) == 0 {
		return nil, fmt.Errorf("scan %s: the peer accepted no TLS version", addr)
	}
	return peer, nil
}
