package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pkid/pkid/internal/peer"
)

// Cluster is one running PostgreSQL server with its own data directory.
type Cluster struct {
	dir  string // owned by the server's user; holds data/, the socket and log
	port int
	cred *syscall.Credential // nil: run as the current user
	bin  string              // the postgres program

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
	mainCalled bool
	dbSeq      atomic.Int64
)

// Main runs the tests and then stops the shared cluster, if one was
// started. Call it from TestMain in every package that uses Start.
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	if shared != nil {
		shared.stop()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// Start returns the URL of a new, empty database in the cluster this test
// binary shares, starting the cluster on first use. It skips (fails under
// CI) when PostgreSQL is not installed.
func Start(t testing.TB) string {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest.Start: the package's TestMain must call pgtest.Main, which stops the shared cluster")
	}
	bins := binaries(t)
	sharedOnce.Do(func() { shared, sharedErr = newCluster(bins) })
	if sharedErr != nil {
		t.Fatalf("start PostgreSQL: %v", sharedErr)
	}
	return shared.Database(t)
}

// New starts a cluster of the test's own (for tests that stop or restart
// the server); it is stopped and deleted when the test ends.
func New(t testing.TB) *Cluster {
	t.Helper()
	c, err := newCluster(binaries(t))
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		c.stop()
		os.RemoveAll(c.dir)
	})
	return c
}

type bins struct{ initdb, postgres string }

func binaries(t testing.TB) bins {
	return bins{peer.PostgresBin(t, "initdb"), peer.PostgresBin(t, "postgres")}
}

func newCluster(b bins) (*Cluster, error) {
	base := os.TempDir()
	if fi, err := os.Stat(base); os.Geteuid() == 0 && (err != nil || fi.Mode().Perm()&0o001 == 0) {
		base = "/tmp" // the postgres user must reach the directory
	}
	dir, err := os.MkdirTemp(base, "pkid-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: b.postgres}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the postgres user (package postgresql creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	out, err := c.command(b.initdb, "-D", filepath.Join(dir, "data"), "--no-sync", "-A", "trust",
		"-U", "postgres", "-E", "UTF8", "--locale", "C").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		c.port, err = freePort()
		if err == nil {
			err = c.start()
		}
		if err == nil {
			return c, nil
		}
		if attempt == 3 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the server and waits until it accepts connections.
func (c *Cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(c.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fsync := "fsync=off"
	if os.Getenv("PKID_PGTEST_FSYNC") == "1" {
		fsync = "fsync=on"
	}
	cmd := c.command(c.bin, "-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", fsync, "-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB", "-c", "max_connections=200", "-c", "log_min_messages=warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT (immediate shutdown) if the test binary dies before stopping it.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited at start: %s", c.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stopLocked()
			return fmt.Errorf("postgres did not accept connections within 30s: %v\n%s", err, c.logTail())
		}
	}
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (c *Cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// AdminURL is the URL of the cluster's postgres database, as its superuser.
func (c *Cluster) AdminURL() string { return c.url("postgres") }

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Database creates a new, empty database and returns its URL.
func (c *Cluster) Database(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("pkid_%d", dbSeq.Add(1))
	c.Exec(t, "CREATE DATABASE "+name+" TEMPLATE template0 STRATEGY FILE_COPY")
	return c.url(name)
}

// Exec runs statements as the superuser in the postgres database.
func (c *Cluster) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AdminURL())
	if err != nil {
		t.Fatalf("connect to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// waits for it to exit.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
}

// Restart starts a stopped server again on the same port.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
}

func (c *Cluster) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked()
}

func (c *Cluster) stopLocked() error {
	if c.cmd == nil {
		return nil
	}
	cmd, exited := c.cmd, c.exited
	c.cmd = nil
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		return errors.New("postgres did not stop within 30s after SIGINT; killed it")
	}
}

// CPUTime returns the CPU time (user + system) the shared cluster's
// processes have used so far: the postmaster with the backends it has
// reaped, plus every live child. Benchmarks report it per operation beside
// their own process's CPU, since on a shared machine only CPU per
// operation compares. 0 if no shared cluster runs or /proc is unreadable.
func CPUTime() time.Duration {
	if shared == nil {
		return 0
	}
	return shared.CPUTime()
}

// CPUTime is the cluster's CPU time so far (see the package function).
func (c *Cluster) CPUTime() time.Duration {
	c.mu.Lock()
	cmd := c.cmd
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	pm := cmd.Process.Pid
	ticks := procTicks(pm, true)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm {
			continue
		}
		if ppid, _ := procField(pid, 3); ppid == int64(pm) {
			ticks += procTicks(pid, false)
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on
// every Linux platform Go supports).
const clockTicks = 100

// procTicks is utime+stime of pid, plus cutime+cstime (its reaped
// children) when children is set.
func procTicks(pid int, children bool) int64 {
	var t int64
	fields := []int{13, 14}
	if children {
		fields = append(fields, 15, 16)
	}
	for _, i := range fields {
		v, _ := procField(pid, i)
		t += v
	}
	return t
}

// procField returns field i (0-based, counted after the command name
// like proc(5)'s numbering minus one) of /proc/PID/stat.
func procField(pid, i int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	// The command name is in parentheses and may hold spaces.
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state) of proc(5), so field k is f[k-3]; i is k-1.
	k := i + 1 - 3
	if k < 0 || k >= len(f) {
		return 0, fmt.Errorf("/proc/%d/stat: no field %d", pid, i+1)
	}
	return strconv.ParseInt(f[k], 10, 64)
}
