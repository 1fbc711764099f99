package ldap

import "sync/atomic"

// maxWorkers bounds the goroutines a Server keeps for running operations.
// Operations grow a goroutine's stack well past its initial size (the
// directory, the store, the encoder), so a fresh goroutine per operation
// pays for stack copies every time; kept workers pay once.
const maxWorkers = 64

// maxConnWorkers bounds the goroutines a Server keeps for connection
// readers between connections (see Server.connWorkers).
const maxConnWorkers = 64

// workerPool runs operations on kept goroutines when one is idle, and on
// a new goroutine otherwise (the per-connection bound still applies).
type workerPool struct {
	tasks chan func() // unbuffered: a send succeeds only to an idle worker
	quit  chan struct{}
	n     atomic.Int32
	max   int32 // workers kept; maxWorkers when 0
}

func newWorkerPool() *workerPool {
	return &workerPool{tasks: make(chan func()), quit: make(chan struct{})}
}

func (p *workerPool) run(f func()) {
	select {
	case p.tasks <- f:
		return
	default:
	}
	limit := p.max
	if limit == 0 {
		limit = maxWorkers
	}
	if p.n.Add(1) <= limit {
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

// stop ends the idle workers; busy ones end after their operation.
func (p *workerPool) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
}
