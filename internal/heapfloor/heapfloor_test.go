package heapfloor

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		name        string
		live, floor uint64
		base, want  int
	}{
		{"small heap: the runtime's minimum reaches the floor first", 2 * mib, 16 * mib, 100, 400},
		{"middle heap: the live heap reaches the floor first", 6 * mib, 16 * mib, 100, 167},
		{"heap above half the floor: base already does", 10 * mib, 16 * mib, 100, 100},
		{"no cycle yet", 0, 16 * mib, 100, 400},
		{"a lower GOGC is raised", 1 * mib, 16 * mib, 50, 400},
		{"a higher GOGC is kept", 1 * mib, 16 * mib, 800, 800},
		{"GOGC=off is kept", 1 * mib, 16 * mib, -1, -1},
		{"capped", 1, 1 << 40, 100, maxPercent},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Percent(c.live, c.floor, c.base); got != c.want {
				t.Errorf("Percent(%d, %d, %d) = %d, want %d", c.live, c.floor, c.base, got, c.want)
			}
		})
	}
}

// TestPercentSmallest checks, for random heaps, that Percent's goal
// reaches the floor and that one less would not (unless it is base).
func TestPercentSmallest(t *testing.T) {
	goal := func(live uint64, p int) uint64 { return max(live*uint64(100+p), minHeap*uint64(p)) / 100 }
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		live := r.Uint64N(256 * mib)
		floor := r.Uint64N(256*mib) + 1
		base := r.IntN(400) + 1
		p := Percent(live, floor, base)
		if p < base || p > maxPercent {
			t.Fatalf("Percent(%d, %d, %d) = %d, outside [base, max]", live, floor, base, p)
		}
		if p < maxPercent && goal(live, p) < floor {
			t.Fatalf("Percent(%d, %d, %d) = %d: goal %d below the floor", live, floor, base, p, goal(live, p))
		}
		if p > base && goal(live, p-1) >= floor {
			t.Fatalf("Percent(%d, %d, %d) = %d: %d would do", live, floor, base, p, p-1)
		}
	}
}

// withGOGC runs the test at GOGC=100 whatever the environment says.
func withGOGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// goal is the heap goal of the cycle to come.
func goal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestFloorRaisesGoal checks the collector's own heap goal with and
// without a floor, and that undo restores GOGC.
func TestFloorRaisesGoal(t *testing.T) {
	withGOGC(t)
	runtime.GC()
	if g := goal(); g >= 16*mib {
		t.Fatalf("without a floor the test's heap goal is %d MiB: the heap is not small", g/mib)
	}
	undo := Set(64 * mib)
	runtime.GC()
	// The goal overshoots the floor by the scan work of stacks and globals
	// scaled by GOGC (see the package doc): a few MiB at most here.
	if g := goal(); g < 64*mib || g > 80*mib {
		t.Errorf("with a 64 MiB floor the heap goal is %.1f MiB, want 64 to 80", float64(g)/mib)
	}
	undo()
	runtime.GC()
	if g := goal(); g >= 16*mib {
		t.Errorf("after undo the heap goal is %d MiB, want it back under 16", g/mib)
	}
	if g := gogc(); g != 100 {
		t.Errorf("after undo GOGC is %d, want 100", g)
	}
}

// TestLargeHeapKeepsGOGC checks that a live heap whose goal is above the
// floor runs at the process's GOGC, and that the floor comes back when
// the heap shrinks.
func TestLargeHeapKeepsGOGC(t *testing.T) {
	withGOGC(t)
	runtime.GC() // what earlier tests allocated while a cycle marked is live until this one
	undo := Set(16 * mib)
	defer undo()
	if g := gogc(); g <= 100 {
		t.Fatalf("with a 16 MiB floor and a small heap GOGC is %d, want it raised", g)
	}
	live := make([]byte, 32*mib)
	waitGOGC(t, func(g int) bool { return g == 100 }, "100 with 32 MiB live")
	runtime.KeepAlive(live)
	live = nil
	waitGOGC(t, func(g int) bool { return g > 100 }, "raised again once the 32 MiB are garbage")
}

// waitGOGC runs cycles until the tuner, which runs after each, has set a
// GOGC that ok accepts.
func waitGOGC(t *testing.T, ok func(int) bool, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(gogc()) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d, want %s", gogc(), want)
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // let the finalizer goroutine run
	}
}

func TestSetOffAndZero(t *testing.T) {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	if g := gogc(); g != -1 {
		t.Fatalf("with GOGC=off gogc() = %d, want -1", g)
	}
	Set(16 * mib)()
	if g := debug.SetGCPercent(-1); g != -1 {
		t.Errorf("Set with GOGC=off left GOGC at %d", g)
	}
	debug.SetGCPercent(100)
	undo := Set(0)
	if g := gogc(); g != 100 {
		t.Errorf("Set(0) changed GOGC to %d", g)
	}
	undo()
}

// TestSetReplaces: a second Set replaces the first and keeps the GOGC the
// process had before either; undoing the replaced one changes nothing.
func TestSetReplaces(t *testing.T) {
	withGOGC(t)
	runtime.GC()
	undo1 := Set(16 * mib)
	first := gogc()
	undo2 := Set(64 * mib)
	if g := gogc(); g <= first {
		t.Fatalf("GOGC %d after a 64 MiB floor replaced a 16 MiB one (%d), want it higher", g, first)
	}
	undo1()
	if g := gogc(); g <= first {
		t.Fatalf("undoing the replaced floor set GOGC to %d", g)
	}
	undo2()
	if g := gogc(); g != 100 {
		t.Fatalf("after undoing both GOGC is %d, want 100", g)
	}
}
