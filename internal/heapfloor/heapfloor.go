// Package heapfloor keeps the Go garbage collector from running more often
// than once per few megabytes of allocation while the live heap is small.
//
// The collector starts a cycle when the heap reaches its goal, live ×
// (1 + GOGC/100), and never sets that goal below 4 MiB. A server whose
// live heap is 2 MiB and which allocates for every connection it accepts
// (a TLS handshake allocates tens of kilobytes, all of it garbage a
// moment later) therefore collects after every 2–3 MiB of allocation:
// under a certificate-login load pkid serve ran 50 cycles a second, and
// each pays a fixed cost (scanning every goroutine stack and the
// program's global variables) whatever the heap holds.
//
// A floor raises the goal of a small heap to the floor and leaves a heap
// whose goal is above the floor alone: after each cycle the package
// reads the live heap (runtime/metrics) and sets GOGC so that the next
// goal is about max(floor, live × (1 + base/100)), where base is the GOGC
// the process started with. (About: the runtime also scales the scan
// work of stacks and global variables by GOGC, which puts the goal of a
// small heap a few hundred kilobytes to a few megabytes above the floor.)
// The resident memory it costs is bounded by the floor and that margin; a
// soft memory limit (GOMEMLIMIT, debug.SetMemoryLimit) still applies on
// top of it. It is the same idea as a heap ballast, without the ballast.
package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// liveHeap is the runtime/metrics name of the heap the last cycle marked
// live, the quantity the collector multiplies by 1 + GOGC/100.
const liveHeap = "/gc/heap/live:bytes"

// gogc reads GOGC as the runtime has it (-1 for off) without setting it,
// as debug.SetGCPercent would.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1 // not this runtime's metric: leave the collector alone
	}
	return int(int64(s[0].Value.Uint64())) // GOGC=off is -1 stored as a uint64
}

// maxPercent bounds the GOGC Set chooses for a nearly empty heap.
const maxPercent = 100_000

// Set raises the garbage collector's heap goal to at least floor bytes
// until the returned function is called, which restores the GOGC the
// process had. It does nothing (and its undo nothing) when floor is 0 or
// the collector is off (GOGC=off). Only one floor is in effect: a second
// Set before the first's undo replaces it.
func Set(floor uint64) (undo func()) {
	base := gogc()
	if floor == 0 || base < 0 {
		return func() {}
	}
	t := &tuner{floor: floor, base: base, cur: base}
	mu.Lock()
	if active != nil {
		active.stopped = true
		t.base = active.base
	}
	active = t
	t.tune()
	mu.Unlock()
	t.arm()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if active != t {
			return
		}
		t.stopped = true
		active = nil
		debug.SetGCPercent(t.base)
	}
}

var (
	mu     sync.Mutex
	active *tuner // the floor in effect, nil if none
)

// tuner re-sets GOGC after every cycle while it is not stopped.
type tuner struct {
	floor   uint64
	base    int  // GOGC without a floor
	cur     int  // GOGC set last
	stopped bool // guarded by mu
	sample  [1]metrics.Sample
}

// sentinel is garbage from the moment it is made: its finalizer runs once
// the cycle after it was allocated has swept it, that is once per cycle.
// It holds a pointer so that it is not a tiny allocation, whose finalizer
// may never run.
type sentinel struct{ t *tuner }

func (t *tuner) arm() {
	runtime.SetFinalizer(&sentinel{t}, func(s *sentinel) {
		mu.Lock()
		stopped := s.t.stopped
		if !stopped {
			s.t.tune()
		}
		mu.Unlock()
		if !stopped {
			s.t.arm()
		}
	})
}

// tune sets GOGC for the live heap the last cycle found.
func (t *tuner) tune() {
	t.sample[0].Name = liveHeap
	metrics.Read(t.sample[:])
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return // not this runtime's metric: leave GOGC as it is
	}
	if p := Percent(t.sample[0].Value.Uint64(), t.floor, t.base); p != t.cur {
		debug.SetGCPercent(p)
		t.cur = p
	}
}

// minHeap is the runtime's smallest heap goal at GOGC=100; it scales
// with GOGC (runtime/mgcpacer.go, heapMinimum: 4 MiB × GOGC/100).
const minHeap = 4 << 20

// Percent is the GOGC that makes the heap goal of a live heap of live
// bytes at least floor bytes, and base where base already does. The goal
// at GOGC=p is the larger of live × (1 + p/100) and the runtime's minimum,
// 4 MiB × p/100, so Percent is the smallest p ≥ base for which either
// reaches floor, at most 100,000.
func Percent(live, floor uint64, base int) int {
	goal := func(p uint64) uint64 { return max(live*(100+p), minHeap*p) / 100 }
	if base < 0 || goal(uint64(base)) >= floor {
		return base
	}
	p := (floor*100 + minHeap - 1) / minHeap // minimum alone: ceil(floor×100 / 4 MiB)
	if live > 0 {
		p = min(p, (floor*100+live-1)/live-100) // live alone: ceil(floor×100/live) − 100
	}
	return int(min(max(p, uint64(base)), maxPercent))
}
