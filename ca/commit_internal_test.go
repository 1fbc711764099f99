package ca

import (
	"context"
	"testing"
	"time"

	"github.com/pkid/pkid/store"
)

// recordingStore records the size of every AddCertificates batch.
type recordingStore struct {
	store.Store // nil: only AddCertificates is called
	batches     chan int
}

func (r *recordingStore) AddCertificates(_ context.Context, certs []*store.Certificate) error {
	r.batches <- len(certs)
	return nil
}

// nextBatch returns the size of the next committed batch, failing the test
// if none comes: the writer waited for certificates that would not come.
func nextBatch(t *testing.T, r *recordingStore) int {
	t.Helper()
	select {
	case n := <-r.batches:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no commit within 10 s: the writer waits for callers that will not submit")
		return 0
	}
}

// noBatch fails if a batch is committed within a short while.
func noBatch(t *testing.T, r *recordingStore, why string) {
	t.Helper()
	select {
	case n := <-r.batches:
		t.Fatalf("committed a batch of %d: %s", n, why)
	case <-time.After(50 * time.Millisecond):
	}
}

func oneCert() []*store.Certificate { return []*store.Certificate{{}} }

// TestGroupCommitWaitsForHalf: with four callers in flight, the writer
// holds the first certificate until a second is queued (half of the
// callers), commits both in one transaction, and commits a lone caller at
// once. maxWait is an hour, so any commit seen came from the policy, not
// the timer.
func TestGroupCommitWaitsForHalf(t *testing.T) {
	r := &recordingStore{batches: make(chan int, 16)}
	c := newCommitter(r, 256, time.Hour)
	defer c.close()

	for range 4 {
		c.enter()
	}
	errs := make(chan error, 4)
	go func() { errs <- c.submit(oneCert()) }()
	noBatch(t, r, "one of four callers queued; the writer should wait for a second")
	go func() { errs <- c.submit(oneCert()) }()
	if n := nextBatch(t, r); n != 2 {
		t.Fatalf("first batch has %d certificates, want 2", n)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		c.leave()
	}

	// The two callers left; the other two submit one after the other:
	// each is half of those in flight, so each is committed at once.
	go func() { errs <- c.submit(oneCert()) }()
	if n := nextBatch(t, r); n != 1 {
		t.Fatalf("batch of %d, want 1", n)
	}
	<-errs
	c.leave()
	go func() { errs <- c.submit(oneCert()) }()
	if n := nextBatch(t, r); n != 1 {
		t.Fatalf("lone caller: batch of %d, want 1", n)
	}
	<-errs
	c.leave()
}

// TestGroupCommitCallerLeaves: callers that leave without submitting (their
// request failed) wake the writer, which then commits what is queued
// instead of waiting for them until maxWait.
func TestGroupCommitCallerLeaves(t *testing.T) {
	r := &recordingStore{batches: make(chan int, 16)}
	c := newCommitter(r, 256, time.Hour)
	defer c.close()

	for range 3 {
		c.enter()
	}
	errs := make(chan error, 1)
	go func() { errs <- c.submit(oneCert()) }()
	noBatch(t, r, "one of three callers queued; the writer should wait")
	c.leave()
	c.leave()
	if n := nextBatch(t, r); n != 1 {
		t.Fatalf("batch of %d, want 1", n)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	c.leave()
}

// TestGroupCommitNoWait: a negative maxWait commits whatever is queued.
func TestGroupCommitNoWait(t *testing.T) {
	r := &recordingStore{batches: make(chan int, 16)}
	c := newCommitter(r, 256, -1)
	defer c.close()
	for range 4 {
		c.enter()
	}
	if err := c.submit(oneCert()); err != nil {
		t.Fatal(err)
	}
	if n := nextBatch(t, r); n != 1 {
		t.Fatalf("batch of %d, want 1", n)
	}
}

// TestGroupCommitMaxBatch: a full batch is committed without waiting for
// the callers still in flight.
func TestGroupCommitMaxBatch(t *testing.T) {
	r := &recordingStore{batches: make(chan int, 16)}
	c := newCommitter(r, 2, time.Hour)
	defer c.close()
	for range 8 {
		c.enter()
	}
	if err := c.submit([]*store.Certificate{{}, {}}); err != nil {
		t.Fatal(err)
	}
	if n := nextBatch(t, r); n != 2 {
		t.Fatalf("batch of %d, want 2", n)
	}
}
