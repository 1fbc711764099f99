package ca

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/store"
)

// committer is the group-commit writer: one goroutine gathers the
// certificates that concurrent Issue calls queue and stores them in one
// AddCertificates transaction, so the cost of a durable commit is shared by
// the whole batch. Each caller waits until its own batch is committed.
//
// A SQLite transaction costs about 250 µs of CPU (BEGIN, the WAL writes,
// the fsync system call) plus about 12 µs per certificate, so the batch
// size decides much of the cost of a certificate. Committing whatever is
// queued the moment the writer is free makes batches of a handful when the
// cores are busy signing (certificates arrive one by one, and a commit
// takes about as long as a few certificates), and the transaction then
// costs more than linting. So the writer waits for more certificates while
// the batch holds fewer than half of the callers inside the Service
// (inflight), up to maxWait after it started waiting: the other half keep
// the cores busy during the commit, and a lone caller is committed at
// once.
type committer struct {
	st       store.Store
	maxBatch int
	maxWait  time.Duration
	jobs     chan *commitJob
	quit     chan struct{}
	done     sync.WaitGroup
	closed   bool
	mu       sync.RWMutex
	// inflight counts callers between enter and leave.
	inflight atomic.Int64
	// nudge wakes a waiting writer when a caller leaves, so that it does
	// not wait for a caller that will not submit until maxWait.
	nudge chan struct{}
}

type commitJob struct {
	certs []*store.Certificate
	done  chan error
}

// commitTimeout bounds one store transaction, whatever the callers'
// contexts say: once queued, a batch is committed or fails as a whole.
const commitTimeout = time.Minute

// defaultMaxWait bounds how long the first queued certificate waits for
// others: about the time two cores take to sign and lint 64 certificates.
const defaultMaxWait = 10 * time.Millisecond

var errServiceClosed = errors.New("the issuance service is closed")

func newCommitter(st store.Store, maxBatch int, maxWait time.Duration) *committer {
	c := &committer{st: st, maxBatch: maxBatch, maxWait: maxWait,
		jobs: make(chan *commitJob, 4*maxBatch), quit: make(chan struct{}), nudge: make(chan struct{}, 1)}
	c.done.Add(1)
	go c.run()
	return c
}

// enter counts a caller that may submit certificates; leave ends it.
func (c *committer) enter() { c.inflight.Add(1) }

func (c *committer) leave() {
	c.inflight.Add(-1)
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// submit queues certs and waits for their commit.
func (c *committer) submit(certs []*store.Certificate) error {
	j := &commitJob{certs: certs, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errServiceClosed
	}
	c.jobs <- j
	c.mu.RUnlock()
	return <-j.done
}

func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	c.done.Wait()
}

func (c *committer) run() {
	defer c.done.Done()
	for {
		var first *commitJob
		select {
		case first = <-c.jobs:
		case <-c.quit:
			// Submitters holding the read lock have queued already.
			for {
				select {
				case j := <-c.jobs:
					c.flush([]*commitJob{j})
				default:
					return
				}
			}
		}
		c.flush(c.gather(first))
	}
}

// gather returns the batch that starts with first: the jobs queued now,
// then, while the batch is not full and holds fewer than half of the
// callers in flight, the jobs they queue, until maxWait after it first
// waited.
func (c *committer) gather(first *commitJob) []*commitJob {
	batch, n := []*commitJob{first}, len(first.certs)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for n < c.maxBatch {
		select {
		case j := <-c.jobs:
			batch, n = append(batch, j), n+len(j.certs)
			continue
		default:
		}
		if c.maxWait <= 0 || 2*int64(len(batch)) >= c.inflight.Load() {
			break
		}
		if timer == nil {
			timer = time.NewTimer(c.maxWait)
		}
		select {
		case j := <-c.jobs:
			batch, n = append(batch, j), n+len(j.certs)
		case <-c.nudge:
		case <-timer.C:
			return batch
		case <-c.quit:
			return batch
		}
	}
	return batch
}

func (c *committer) flush(batch []*commitJob) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	var all []*store.Certificate
	for _, j := range batch {
		all = append(all, j.certs...)
	}
	err := c.st.AddCertificates(ctx, all)
	if errors.Is(err, store.ErrExists) && len(batch) > 1 {
		// A serial collided: commit each caller's certificates alone so
		// only the caller whose serial collided retries.
		for _, j := range batch {
			j.done <- c.st.AddCertificates(ctx, j.certs)
		}
		return
	}
	for _, j := range batch {
		j.done <- err
	}
}
