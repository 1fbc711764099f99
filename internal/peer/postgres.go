package peer

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// PostgresBin returns the path of a PostgreSQL server program (initdb,
// postgres, pg_ctl). Debian installs them outside PATH, in
// /usr/lib/postgresql/VERSION/bin; the newest version found there wins,
// then PATH. Missing, it skips (fails under CI) naming the package
// postgresql.
func PostgresBin(t testing.TB, program string) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		p := filepath.Join(dir, program)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(program); err == nil {
		return p
	}
	return Need(t, program, "postgresql")
}

// version is the major version in /usr/lib/postgresql/VERSION/bin (0 if
// the directory name is not a number).
func version(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return n
}
