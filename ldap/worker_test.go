package ldap

import (
	"sync"
	"testing"
	"time"
)

// TestWorkerPoolKeepsGoroutines: tasks run one after another reuse one
// kept goroutine; concurrent tasks beyond the bound still run, on
// goroutines that are not kept; stop ends the idle kept ones.
func TestWorkerPoolKeepsGoroutines(t *testing.T) {
	p := newWorkerPool(2)
	waitIdle := func(want int32) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); p.n.Load() != want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d kept goroutines, want %d", p.n.Load(), want)
			}
		}
	}
	for range 50 {
		done := make(chan struct{})
		p.run(func() { close(done) })
		<-done
		// Let the worker return to waiting for the next task.
		time.Sleep(100 * time.Microsecond)
	}
	if n := p.n.Load(); n < 1 || n > 2 {
		t.Fatalf("after 50 sequential tasks: %d kept goroutines, want 1 or 2 (reused)", n)
	}

	var wg sync.WaitGroup
	release := make(chan struct{})
	ran := make(chan struct{}, 5)
	for range 5 {
		wg.Add(1)
		p.run(func() { defer wg.Done(); ran <- struct{}{}; <-release })
	}
	for range 5 {
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("a task beyond the bound did not run")
		}
	}
	if n := p.n.Load(); n > 2 {
		t.Errorf("%d kept goroutines, bound 2", n)
	}
	close(release)
	wg.Wait()
	p.stop()
	waitIdle(0)
}
