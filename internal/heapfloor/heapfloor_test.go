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

// gogc reads GOGC as the runtime has it, without setting it.
func gogc(t *testing.T) int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("runtime/metrics has no /gc/gogc:percent")
	}
	return int(s[0].Value.Uint64())
}

func cycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// withGOGC runs the test at GOGC=100 whatever the environment says.
func withGOGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

var sink []byte

// churn allocates n bytes of garbage in 4 KiB pieces, as a server's
// handshakes do, and returns the number of cycles they caused.
func churn(n int) uint64 {
	c := cycles()
	for range n / 4096 {
		sink = make([]byte, 4096)
	}
	sink = nil
	return cycles() - c
}

// TestFloorCutsCycles allocates the same garbage with and without a floor
// and counts the collector's cycles.
func TestFloorCutsCycles(t *testing.T) {
	withGOGC(t)
	runtime.GC()
	without := churn(512 * mib)
	undo := Set(64 * mib)
	with := churn(512 * mib)
	undo()
	// 512 MiB in 64 MiB steps is 8 cycles; without a floor the goal of
	// this test's heap is the runtime's 4 MiB: about 150 cycles.
	if with > 16 {
		t.Errorf("with a 64 MiB floor, 512 MiB of garbage took %d cycles, want at most 16", with)
	}
	if without < 4*with || without < 64 {
		t.Errorf("without a floor, 512 MiB of garbage took %d cycles (with: %d): the test's heap is not small", without, with)
	}
	if g := gogc(t); g != 100 {
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
	if g := gogc(t); g <= 100 {
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
	for !ok(gogc(t)) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d, want %s", gogc(t), want)
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // let the finalizer goroutine run
	}
}

func TestSetOffAndZero(t *testing.T) {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	Set(16 * mib)()
	if g := debug.SetGCPercent(-1); g != -1 {
		t.Errorf("Set with GOGC=off left GOGC at %d", g)
	}
	debug.SetGCPercent(100)
	undo := Set(0)
	if g := gogc(t); g != 100 {
		t.Errorf("Set(0) changed GOGC to %d", g)
	}
	undo()
}
