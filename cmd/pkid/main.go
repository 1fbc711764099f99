// Command pkid is a private PKI in one binary: a CA, revocation (CRL, OCSP),
// an LDAP directory and a TLS doctor. This package parses flags and wires
// the library packages together; it is the only place that prints for the
// user or exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one `pkid NAME` subcommand. Each lives in its own file and
// registers itself from init, so commands are added without touching this
// file.
type command struct {
	name    string
	args    string // synopsis after the name, e.g. "SERIAL|FILE --reason R"
	summary string // one line for `pkid help`
	example string // shown by --help
	// flags declares the command's own flags on fs and returns the function
	// that runs it with the positional arguments.
	flags func(fs *flag.FlagSet, g *globals) func(ctx context.Context, args []string) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("pkid: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError marks errors that should print the command's usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one pkid command line and returns the exit status. Tests call
// it in-process; the binary's main is a thin shell around it.
func run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(argv) == 0 || argv[0] == "help" || argv[0] == "-h" || argv[0] == "--help" {
		if len(argv) > 1 {
			if c, ok := commands[argv[1]]; ok {
				fs, _ := newFlagSet(c, &globals{stdin: stdin, stdout: stdout, stderr: stderr})
				fs.SetOutput(stdout)
				fs.Usage()
				return 0
			}
		}
		printHelp(stdout)
		if len(argv) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[argv[0]]
	if !ok {
		fmt.Fprintf(stderr, "pkid: unknown command %q; run `pkid help` for the list\n", argv[0])
		return 2
	}
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	fs, runFn := newFlagSet(c, g)
	// The flag package prints errors and usage itself; we print them once,
	// below, so the output is not doubled.
	fs.SetOutput(io.Discard)
	args, err := parseInterspersed(fs, argv[1:])
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "pkid %s: %v\n", c.name, err)
		fmt.Fprintf(stderr, "usage: pkid %s %s (pkid %s --help for more)\n", c.name, c.args, c.name)
		return 2
	}
	defer g.close()
	if err := runFn(ctx, args); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "pkid %s: %v\nusage: pkid %s %s\n", c.name, err, c.name, c.args)
			return 2
		}
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		fmt.Fprintf(stderr, "pkid %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

// exitCode lets a command end with a status other than 1 without printing
// (e.g. `pkid lint` exits 1 when it found errors, having printed them).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newFlagSet(c *command, g *globals) (*flag.FlagSet, func(context.Context, []string) error) {
	fs := flag.NewFlagSet("pkid "+c.name, flag.ContinueOnError)
	g.register(fs)
	runFn := c.flags(fs, g)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: pkid %s %s\n\n%s\n\n", c.name, c.args, c.summary)
		if c.example != "" {
			fmt.Fprintf(out, "example:\n  %s\n\n", strings.ReplaceAll(c.example, "\n", "\n  "))
		}
		fmt.Fprintln(out, "flags:")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(out, "  --%s %s\n    \t%s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(out, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
	}
	return fs, runFn
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments ("pkid show SERIAL --json"); "--" ends flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "pkid: a private PKI in one binary — CA, CRLs, OCSP, LDAP directory, TLS doctor")
	fmt.Fprintln(w, "\nusage: pkid COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --dir DIR (env PKID_DIR, default ./pkid-data) and --help.")
}
