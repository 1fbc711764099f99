package main

import (
	"context"
	"fmt"

	"github.com/pkid/pkid/doctor"
)

// probeScan runs `pkid probe --scan`. It is the seam for the scanner
// (doctor.Scan, written on branch doctor-scan): replace this body with the
// call and the printing of its result; the flag and option handling in
// probe.go stay as they are.
func probeScan(ctx context.Context, g *globals, opts doctor.Options, asJSON bool) error {
	fmt.Fprintln(g.stderr, "pkid probe: --scan is not available yet")
	return exitCode(1)
}
