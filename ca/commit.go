package ca

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pkid/pkid/store"
)

// committer is the group-commit writer: one goroutine gathers the
// certificates that concurrent Issue calls queue and stores them in one
// AddCertificates transaction, so the cost of a durable commit (an fsync)
// is shared by the whole batch. Each caller waits until its own batch is
// committed.
type committer struct {
	st       store.Store
	maxBatch int
	delay    time.Duration
	jobs     chan *commitJob
	quit     chan struct{}
	done     sync.WaitGroup
	closed   bool
	mu       sync.RWMutex
}

type commitJob struct {
	certs []*store.Certificate
	done  chan error
}

// commitTimeout bounds one store transaction, whatever the callers'
// contexts say: once queued, a batch is committed or fails as a whole.
const commitTimeout = time.Minute

var errServiceClosed = errors.New("the issuance service is closed")

func newCommitter(st store.Store, maxBatch int, delay time.Duration) *committer {
	c := &committer{st: st, maxBatch: maxBatch, delay: delay,
		jobs: make(chan *commitJob, 4*maxBatch), quit: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c
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
		batch, n := []*commitJob{first}, len(first.certs)
		var timer <-chan time.Time
		if c.delay > 0 {
			timer = time.After(c.delay)
		}
	gather:
		for n < c.maxBatch {
			if timer == nil {
				select {
				case j := <-c.jobs:
					batch, n = append(batch, j), n+len(j.certs)
				default:
					break gather
				}
				continue
			}
			select {
			case j := <-c.jobs:
				batch, n = append(batch, j), n+len(j.certs)
			case <-timer:
				break gather
			}
		}
		c.flush(batch)
	}
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
