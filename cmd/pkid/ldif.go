package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/directory/acl"
)

func init() {
	register(&command{
		name:    "ldif",
		args:    "import FILE | export [--base DN] [--out FILE]",
		summary: "load LDIF (e.g. a slapcat dump) into the directory, or dump the directory as LDIF",
		example: `slapcat -f /etc/ldap/slapd.conf > dump.ldif && pkid ldif import dump.ldif   # one transaction: a bad record names its line, nothing is imported
pkid ldif export --base ou=people,o=example > people.ldif
# an import into a store no other process has open holds it alone: a pkid serve started meanwhile waits (up to 30 s)`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			base := fs.String("base", "", "export: only this entry and its subtree (default: every naming context)")
			out := fs.String("out", "", "export: write to this file instead of standard output")
			files := fs.Bool("allow-files", false, "import: read values given as file:// URLs (attr:< file:///path)")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usagef("say import FILE or export")
				}
				switch args[0] {
				case "import":
					if len(args) != 2 {
						return usagef("ldif import takes one FILE (- for standard input)")
					}
					return ldifImport(ctx, g, args[1], *files)
				case "export":
					if len(args) != 1 {
						return usagef("unexpected argument %q", args[1])
					}
					return ldifExport(ctx, g, *base, *out)
				}
				return usagef("unknown ldif subcommand %q: use import or export", args[0])
			}
		},
	})
}

func openTree(ctx context.Context, g *globals, create bool) (*directory.Tree, error) {
	st, err := g.openStore(ctx, create)
	if err != nil {
		return nil, err
	}
	// aclEntry and entryOwner values are checked like pkid serve checks
	// them: a malformed one is refused, never stored.
	return directory.New(directory.Config{Store: st, CheckValue: func(attr string, v []byte) error { return acl.CheckValue(attr, string(v)) }})
}

func ldifImport(ctx context.Context, g *globals, file string, allowFiles bool) error {
	var in io.Reader = g.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("open LDIF: %w", err)
		}
		defer f.Close()
		in = f
	}
	tr, err := openTree(ctx, g, true)
	if err != nil {
		return err
	}
	r := directory.NewLDIFReader(in)
	r.AllowFiles = allowFiles
	// The import's live Go heap is small (a few chunks of parsed entries;
	// SQLite's page cache is outside it), so collecting less often costs
	// little memory and saves about a sixth of the CPU time. GOGC in the
	// environment still wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	start := time.Now()
	st, err := tr.Import(ctx, r, directory.ImportOptions{})
	if err != nil {
		return fmt.Errorf("import %s (nothing was imported): %w", file, err)
	}
	fmt.Fprintf(g.stdout, "imported %s: %d entries added, %d modified, %d deleted, %d renamed in %.2fs\n",
		file, st.Added, st.Modified, st.Deleted, st.Renamed, time.Since(start).Seconds())
	return nil
}

func ldifExport(ctx context.Context, g *globals, base, out string) error {
	tr, err := openTree(ctx, g, false)
	if err != nil {
		return err
	}
	w := io.Writer(g.stdout)
	if out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("create %s: %w", out, err)
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		w = bw
	}
	n, err := tr.Export(ctx, base, directory.NewLDIFWriter(w))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if out != "" {
		fmt.Fprintf(g.stderr, "exported %d entries to %s\n", n, out)
	}
	return nil
}
