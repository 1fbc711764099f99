package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// version is set by -ldflags "-X main.version=..." in release builds.
var version = "devel"

func init() {
	register(&command{
		name:    "version",
		summary: "print pkid's version",
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				v := version
				if bi, ok := debug.ReadBuildInfo(); ok && v == "devel" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
				fmt.Fprintln(g.stdout, "pkid", v)
				return nil
			}
		},
	})
}
