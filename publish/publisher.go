package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Options configure a Publisher; the zero value is usable.
type Options struct {
	// Log receives one line per publication and per failure; nil discards.
	Log *slog.Logger
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
	// WatchInterval is how often the store's change feed is polled; zero
	// means store.DefaultWatchInterval.
	WatchInterval time.Duration
}

// Publisher keeps external directories in step with the store. Create it
// with New, run it with Run; Status and the Prometheus collector (see
// Collector) are safe to call at any time.
type Publisher struct {
	st      store.Store
	opts    Options
	log     *slog.Logger
	workers []*worker
}

// New checks the targets and returns a Publisher for them.
func New(st store.Store, targets []Target, opts Options) (*Publisher, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Time == nil {
		opts.Time = time.Now
	}
	p := &Publisher{st: st, opts: opts, log: opts.Log}
	seen := map[string]bool{}
	for i := range targets {
		if err := targets[i].Validate(); err != nil {
			return nil, err
		}
		if seen[targets[i].Name] {
			return nil, fmt.Errorf("publish target %q is configured twice", targets[i].Name)
		}
		seen[targets[i].Name] = true
		t := targets[i].withDefaults()
		p.workers = append(p.workers, &worker{p: p, t: t, kick: make(chan struct{}, 1), feedAt: map[string]time.Time{},
			log: opts.Log.With("target", t.Name)})
	}
	return p, nil
}

// Run publishes to every target until ctx is done, then returns ctx's
// error. Each target works in its own goroutine; Run itself only follows
// the change feed and wakes them.
func Run(ctx context.Context, st store.Store, targets []Target, log *slog.Logger) error {
	p, err := New(st, targets, Options{Log: log})
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// Run publishes until ctx is done. It records the target names in the
// store (for `pkid publish status`), starts one goroutine per target and
// wakes them on every change-feed record of kind "crl" or "ca".
func (p *Publisher) Run(ctx context.Context) error {
	names := make([]string, len(p.workers))
	for i, w := range p.workers {
		names[i] = w.t.Name
	}
	b, _ := json.Marshal(names)
	if err := p.st.SetMeta(ctx, TargetsKey, string(b)); err != nil {
		p.log.Warn("publish: record target names", "err", err)
	}
	if len(p.workers) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	rev, err := p.st.Revision(ctx)
	if err != nil {
		p.log.Warn("publish: read store revision", "err", err)
	}
	var wg sync.WaitGroup
	for _, w := range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
	for changes := range store.Watch(ctx, p.st, rev, p.opts.WatchInterval) {
		touched := map[string]time.Time{}
		for _, c := range changes {
			if c.Kind != store.ChangeCRL && c.Kind != store.ChangeCA {
				continue
			}
			if at, ok := touched[c.CAID]; !ok || c.At.Before(at) {
				touched[c.CAID] = c.At
			}
		}
		if len(touched) == 0 {
			continue
		}
		for _, w := range p.workers {
			w.notify(touched)
		}
	}
	wg.Wait()
	return ctx.Err()
}

// TargetStatus is a target's health.
type TargetStatus struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// LastSuccess is the end of the last pass that left every selected CA
	// current.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Lag is now minus the time of the oldest change not yet published
	// (0 when current).
	Lag time.Duration `json:"lag"`
	// LastError is the last pass's error, "" after a success.
	LastError string `json:"last_error,omitempty"`
	// Failures counts consecutive failed passes; Errors all failed passes
	// since the Publisher started.
	Failures int    `json:"failures"`
	Errors   uint64 `json:"errors"`
}

// Status returns every target's health, in configuration order.
func (p *Publisher) Status() []TargetStatus {
	now := p.opts.Time()
	out := make([]TargetStatus, len(p.workers))
	for i, w := range p.workers {
		out[i] = w.status(now)
	}
	return out
}

// worker publishes to one target.
type worker struct {
	p    *Publisher
	t    Target
	log  *slog.Logger
	kick chan struct{}

	mu          sync.Mutex
	feedAt      map[string]time.Time // CA → oldest change seen and not yet published
	pending     map[string]time.Time // CA → PendingSince of the last pass
	lastSuccess time.Time
	lastError   string
	failures    int
	errors      uint64
}

func (w *worker) notify(touched map[string]time.Time) {
	w.mu.Lock()
	for ca, at := range touched {
		if old, ok := w.feedAt[ca]; !ok || at.Before(old) {
			w.feedAt[ca] = at
		}
	}
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *worker) status(now time.Time) TargetStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := TargetStatus{Name: w.t.Name, URL: w.t.URL, LastSuccess: w.lastSuccess, LastError: w.lastError, Failures: w.failures, Errors: w.errors}
	oldest := time.Time{}
	for _, at := range w.pending {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	for _, at := range w.feedAt {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	if !oldest.IsZero() && now.After(oldest) {
		s.Lag = now.Sub(oldest)
	}
	return s
}

func (w *worker) run(ctx context.Context) {
	w.loadPersisted(ctx)
	full := true // the first pass re-reads the directory
	resync := time.NewTicker(w.t.Resync)
	defer resync.Stop()
	for {
		err := w.pass(ctx, full)
		if ctx.Err() != nil {
			return
		}
		var wait <-chan time.Time
		if err != nil {
			w.mu.Lock()
			n := w.failures
			w.mu.Unlock()
			wait = time.After(w.backoff(n))
		}
		full = false
		if wait != nil {
			// Back off: changes arriving meanwhile are picked up by the
			// next pass, which is level-triggered.
			select {
			case <-ctx.Done():
				return
			case <-wait:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-resync.C:
			full = true
		}
	}
}

// backoff is the delay after n consecutive failures: MinBackoff doubled
// per failure up to MaxBackoff, then a random point in its upper half, so
// publishers of several nodes do not retry in step.
func (w *worker) backoff(n int) time.Duration {
	d := w.t.MinBackoff
	for i := 1; i < n && d < w.t.MaxBackoff; i++ {
		d *= 2
	}
	if d > w.t.MaxBackoff {
		d = w.t.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// loadPersisted restores the in-memory status from the store.
func (w *worker) loadPersisted(ctx context.Context) {
	cas, err := w.p.st.CAs(ctx)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = map[string]time.Time{}
	for _, c := range cas {
		s, err := LoadState(ctx, w.p.st, w.t.Name, c.ID)
		if err != nil {
			continue
		}
		if s.LastSuccess.After(w.lastSuccess) {
			w.lastSuccess = s.LastSuccess
		}
		if !s.PendingSince.IsZero() {
			w.pending[c.ID] = s.PendingSince
		}
	}
}

// pass brings every selected CA's entry up to date. Without full, CAs
// whose recorded state matches the store are skipped without touching the
// directory.
func (w *worker) pass(ctx context.Context, full bool) error {
	now := w.p.opts.Time
	cas, err := w.p.st.CAs(ctx)
	if err != nil {
		return w.finish(fmt.Errorf("list CAs: %w", err), nil)
	}
	w.mu.Lock()
	feed := w.feedAt
	w.feedAt = map[string]time.Time{}
	w.mu.Unlock()

	type job struct {
		ca    *store.CA
		d     *desired
		state *State
		crl   *store.CRL
		delta *store.CRL
	}
	var jobs []job
	var preErr error
	pending := map[string]time.Time{}
	for _, c := range cas {
		if !w.selected(c.ID) {
			continue
		}
		crl, err := w.p.st.LatestCRL(ctx, c.ID, false)
		if errors.Is(err, store.ErrNotFound) {
			continue // nothing to publish until the CA has a CRL
		}
		if err != nil {
			return w.finish(fmt.Errorf("CA %s: latest CRL: %w", c.ID, err), pending)
		}
		var delta *store.CRL
		if c.DeltaCRL {
			delta, err = w.p.st.LatestCRL(ctx, c.ID, true)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return w.finish(fmt.Errorf("CA %s: latest delta CRL: %w", c.ID, err), pending)
			}
			if delta != nil && delta.BaseNumber != crl.Number {
				delta = nil // refers to an older base: do not publish it
			}
		}
		s, err := LoadState(ctx, w.p.st, w.t.Name, c.ID)
		if err != nil {
			return w.finish(err, pending)
		}
		d, err := w.desired(c, crl, delta)
		if err != nil {
			// A DN the template cannot make: this CA waits for a config
			// fix, the others are still published.
			s.LastAttempt, s.LastError = now(), err.Error()
			s.Failures++
			saveState(ctx, w.p.st, s)
			if preErr == nil {
				preErr = fmt.Errorf("CA %s: %w", c.ID, err)
			}
			continue
		}
		current := s.CRLHash == hashHex(crl.DER) && s.CertHash == hashHex(c.CertDER) && s.DN == d.dn &&
			(delta == nil || s.DeltaHash == hashHex(delta.DER))
		if current && !full {
			continue
		}
		if !current && s.PendingSince.IsZero() {
			at := now()
			if f, ok := feed[c.ID]; ok && f.Before(at) {
				at = f
			}
			s.PendingSince = at
		}
		if !s.PendingSince.IsZero() {
			pending[c.ID] = s.PendingSince
		}
		jobs = append(jobs, job{c, d, s, crl, delta})
	}
	if len(jobs) == 0 {
		return w.finish(preErr, pending)
	}

	cl, err := w.connect(ctx)
	if err != nil {
		if w.status(now()).LastError != err.Error() {
			w.log.Warn("publish failed", "url", w.t.URL, "err", err)
		}
		for _, j := range jobs {
			j.state.LastAttempt, j.state.LastError = now(), err.Error()
			j.state.Failures++
			saveState(ctx, w.p.st, j.state)
		}
		return w.finish(err, pending)
	}
	defer cl.Close()
	firstErr := preErr
	var connErr error // the connection broke: the remaining CAs get the same error
	for _, j := range jobs {
		var wrote bool
		err := connErr
		if err == nil {
			octx, cancel := context.WithTimeout(ctx, 6*w.t.Timeout)
			wrote, err = syncEntry(octx, cl, j.d)
			cancel()
			var le *ldap.Error
			if err != nil && !errors.As(err, &le) {
				connErr = err
			}
		}
		s := j.state
		s.LastAttempt, s.DN = now(), j.d.dn
		if err != nil {
			if s.LastError != err.Error() {
				// One line per new error, not per retry.
				w.log.Warn("publish failed", "ca", j.ca.ID, "dn", j.d.dn, "crl_number", j.crl.Number, "failures", s.Failures+1, "err", err)
			}
			s.LastError = err.Error()
			s.Failures++
			if firstErr == nil {
				firstErr = fmt.Errorf("CA %s: %w", j.ca.ID, err)
			}
		} else {
			lag := time.Duration(0)
			if !s.PendingSince.IsZero() {
				lag = s.LastAttempt.Sub(s.PendingSince)
			}
			s.CRLNumber, s.CRLHash, s.CertHash = j.crl.Number, hashHex(j.crl.DER), hashHex(j.ca.CertDER)
			s.DeltaNumber, s.DeltaHash = 0, ""
			if j.delta != nil {
				s.DeltaNumber, s.DeltaHash = j.delta.Number, hashHex(j.delta.DER)
			}
			s.LastSuccess, s.LastError, s.Failures, s.PendingSince = s.LastAttempt, "", 0, time.Time{}
			delete(pending, j.ca.ID)
			if wrote {
				w.log.Info("published", "ca", j.ca.ID, "dn", j.d.dn, "crl_number", j.crl.Number, "lag", lag)
			}
		}
		if err := saveState(ctx, w.p.st, s); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("save publish state: %w", err)
		}
	}
	return w.finish(firstErr, pending)
}

// finish records a pass's outcome in memory (the per-CA states are in the
// store already).
func (w *worker) finish(err error, pending map[string]time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if pending != nil {
		w.pending = pending
	}
	if err != nil {
		w.lastError = err.Error()
		w.failures++
		w.errors++
		return err
	}
	w.lastError, w.failures = "", 0
	w.lastSuccess = w.p.opts.Time()
	return nil
}

func (w *worker) selected(id string) bool {
	if len(w.t.CAs) == 0 {
		return true
	}
	for _, c := range w.t.CAs {
		if c == id {
			return true
		}
	}
	return false
}

func (w *worker) desired(c *store.CA, crl, delta *store.CRL) (*desired, error) {
	name := w.t.DN
	cn := ""
	if rdns, err := dn.Parse(c.Subject); err == nil {
		for _, rdn := range rdns {
			for _, atv := range rdn {
				if dn.TypeName(atv.Type) == "CN" {
					cn = fmt.Sprint(atv.Value)
				}
			}
		}
	}
	name = strings.NewReplacer("{subject}", c.Subject, "{id}", c.ID, "{cn}", cn).Replace(name)
	rdn, _, err := rdnAttributes(name)
	if err != nil {
		return nil, fmt.Errorf("entry DN from template %q: %w", w.t.DN, err)
	}
	if cn == "" {
		cn = c.ID
	}
	d := &desired{dn: name, cert: c.CertDER, crl: crl.DER, rdn: rdn, leafCN: cn}
	if delta != nil {
		d.delta = delta.DER
	}
	return d, nil
}

// connect dials and binds as the target says.
func (w *worker) connect(ctx context.Context) (*ldap.Client, error) {
	cfg, err := w.t.clientConfig()
	if err != nil {
		return nil, err
	}
	cl, err := ldap.Dial(ctx, w.t.URL, cfg)
	if err != nil {
		return nil, err
	}
	switch w.t.Bind {
	case BindExternal:
		err = cl.BindExternal(ctx, "")
	case BindSimple:
		var pw string
		if pw, err = w.t.password(); err == nil {
			err = cl.Bind(ctx, w.t.BindDN, pw)
		}
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("bind (%s) to %s: %w", w.t.Bind, w.t.URL, err)
	}
	return cl, nil
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
