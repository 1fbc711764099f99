package ldap

import "sync/atomic"

// maxConnWorkers bounds the goroutines a Server keeps between connections
// for running connection readers (Server.connWorkers).
const maxConnWorkers = 64

// workerPool runs functions on kept goroutines when one is idle, and on a
// new goroutine otherwise. A kept goroutine keeps the stack its earlier
// work grew (a TLS handshake's is tens of kilobytes), so work that would
// grow a fresh goroutine's stack every time pays for it once.
type workerPool struct {
	tasks chan func() // unbuffered: a send succeeds only to an idle worker
	quit  chan struct{}
	n     atomic.Int32
	max   int32 // goroutines kept
}

func newWorkerPool(max int32) *workerPool {
	return &workerPool{tasks: make(chan func()), quit: make(chan struct{}), max: max}
}

func (p *workerPool) run(f func()) {
	select {
	case p.tasks <- f:
		return
	default:
	}
	if p.n.Add(1) <= p.max {
		go p.work(f)
		return
	}
	p.n.Add(-1)
	go f()
}

func (p *workerPool) work(f func()) {
	defer p.n.Add(-1)
	for {
		f()
		select {
		case f = <-p.tasks:
		case <-p.quit:
			return
		}
	}
}

// stop ends the idle workers; busy ones end after their task.
func (p *workerPool) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
}
