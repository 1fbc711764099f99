// Package peer finds the real programs interop tests drive (openssl,
// certtool, ldapsearch, slapd, nginx, ...). Locally a missing program skips
// the test and names the Debian package to install; with CI set in the
// environment a missing program fails the test, because CI must never skip.
package peer

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of program, or skips (fails under CI) naming the
// Debian package that provides it.
func Need(t testing.TB, program, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + program
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found; CI must install the Debian package %s (.ci/run)", program, debianPackage)
	}
	t.Skipf("%s not found: apt-get install %s", program, debianPackage)
	return ""
}
