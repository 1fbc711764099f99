package ocsp

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Defaults for the zero Config fields.
const (
	DefaultValidity        = 24 * time.Hour
	DefaultMaxRequestBytes = 64 << 10
	DefaultSignWait        = 2 * time.Second
	DefaultPrefix          = "/ocsp"
)

// LookupFunc answers the status of one certificate of a served CA. It
// returns Unknown for a serial the CA never issued, and an error only when
// it cannot tell (the responder then answers internalError and caches
// nothing). It must be safe for concurrent use.
type LookupFunc func(ctx context.Context, issuer *Issuer, serial *big.Int) (Status, error)

// Config configures a Responder. Only Lookup is required; every other zero
// field takes the documented default.
type Config struct {
	// Issuers are the CAs served at start; SetIssuer adds or replaces one.
	Issuers []*Issuer
	// Lookup answers certificate status questions.
	Lookup LookupFunc
	// Validity is nextUpdate − thisUpdate of each response (DefaultValidity),
	// shortened so that no response outlives its responder certificate.
	// Pre-signed responses are re-signed when half of it has passed.
	Validity time.Duration
	// MaxAge caps the Cache-Control max-age of GET responses, which is
	// otherwise the time left until nextUpdate (RFC 5019 §6.2). HTTP caches
	// may serve a response that long after a revocation: set it (e.g. to a
	// minute) where shared caches sit between clients and the responder.
	MaxAge time.Duration
	// MaxCached bounds the pre-signed responses in memory (DefaultMaxCached).
	MaxCached int
	// MaxCertIDs bounds the CertIDs in one request (DefaultMaxCertIDs);
	// more is malformedRequest.
	MaxCertIDs int
	// MaxRequestBytes bounds a POST body (DefaultMaxRequestBytes); more is
	// HTTP 413. GET paths are bounded by the server's MaxHeaderBytes.
	MaxRequestBytes int64
	// MaxSigners bounds concurrent signatures (runtime.GOMAXPROCS(0)).
	MaxSigners int
	// SignWait is how long a request waits for a free signer before it is
	// answered tryLater (DefaultSignWait).
	SignWait time.Duration
	// Prefix is the HTTP mount point (DefaultPrefix; "/" serves at the
	// root): POST to Prefix, GET Prefix/<base64 request>.
	Prefix string
	// Metrics, if set, receives counts; see Metrics.
	Metrics Metrics
	// Logger receives one line per failure (slog.Default() if nil).
	Logger *slog.Logger
	// Now returns the current time (time.Now if nil).
	Now func() time.Time
	// Rand is the randomness for signatures (crypto/rand.Reader if nil).
	Rand io.Reader
}

// Result classifies what the responder did with one HTTP request, for
// Metrics.
type Result string

// The results reported to Metrics.
const (
	ResultCached        Result = "cached"         // a pre-signed response
	ResultSigned        Result = "signed"         // signed on demand (nonce, several CertIDs, or a cache miss)
	ResultNonceDropped  Result = "nonce_dropped"  // signers busy: pre-signed response without the nonce
	ResultNotModified   Result = "not_modified"   // conditional GET, HTTP 304
	ResultMalformed     Result = "malformed"      // malformedRequest
	ResultUnauthorized  Result = "unauthorized"   // no CertID names a served CA
	ResultTryLater      Result = "try_later"      // signers busy past SignWait
	ResultInternalError Result = "internal_error" // Lookup or signing failed
	ResultRejected      Result = "rejected"       // HTTP-level refusal: 404, 405, 408, 413, 415
)

// Metrics receives the responder's counts; the server adapts it to
// Prometheus. Methods must be cheap and safe for concurrent use.
type Metrics interface {
	// Request is called once per HTTP request.
	Request(method string, result Result)
	// Signed is called after each signature with the time it took.
	Signed(d time.Duration)
}

// Responder answers OCSP requests for a set of CAs. It is an http.Handler.
// Create it with New; all methods are safe for concurrent use.
type Responder struct {
	cfg     Config
	prefix  string // Prefix without a trailing slash ("" for the root)
	log     *slog.Logger
	issuers atomic.Pointer[issuerSet]
	cache   *cache
	signers chan struct{}
	// refreshers bounds the background re-signings that requests start,
	// so that many responses due at once do not pile up goroutines.
	refreshers chan struct{}
	// epoch increases on every invalidation; a response whose status was
	// looked up in an older epoch is served but not cached, so a
	// revocation can never be overwritten by a slower, older lookup.
	epoch atomic.Uint64

	mu      sync.Mutex // guards issuer replacement and flights
	flights map[string]*flight
	reqs    sync.Pool // *Request
}

type issuerSet struct {
	list  []*issuer
	byKey map[issuerKey]*issuer
	byID  map[string]*issuer
}

type flight struct {
	done chan struct{}
	e    *entry
	err  error
}

// New returns a Responder for cfg.
func New(cfg Config) (*Responder, error) {
	if cfg.Lookup == nil {
		return nil, errors.New("ocsp: Config.Lookup is required")
	}
	if cfg.Validity <= 0 {
		cfg.Validity = DefaultValidity
	}
	if cfg.MaxCached <= 0 {
		cfg.MaxCached = DefaultMaxCached
	}
	if cfg.MaxCertIDs <= 0 {
		cfg.MaxCertIDs = DefaultMaxCertIDs
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.MaxSigners <= 0 {
		cfg.MaxSigners = runtime.GOMAXPROCS(0)
	}
	if cfg.SignWait <= 0 {
		cfg.SignWait = DefaultSignWait
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	r := &Responder{
		cfg:        cfg,
		log:        cfg.Logger,
		cache:      newCache(cfg.MaxCached),
		signers:    make(chan struct{}, cfg.MaxSigners),
		refreshers: make(chan struct{}, cfg.MaxSigners),
		flights:    make(map[string]*flight),
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.prefix = cfg.Prefix
	for len(r.prefix) > 0 && r.prefix[len(r.prefix)-1] == '/' {
		r.prefix = r.prefix[:len(r.prefix)-1]
	}
	r.reqs.New = func() any { return new(Request) }
	r.issuers.Store(&issuerSet{byKey: map[issuerKey]*issuer{}, byID: map[string]*issuer{}})
	for _, iss := range cfg.Issuers {
		if err := r.SetIssuer(iss); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// SetIssuer adds a CA, or replaces the one with the same ID (for a renewed
// responder certificate); the replaced CA's pre-signed responses are
// dropped. It fails if the responder certificate is not issued by the CA,
// lacks the OCSPSigning extended key usage or has expired, or if another
// ID already serves the same CA.
func (r *Responder) SetIssuer(iss *Issuer) error {
	p, err := prepare(iss, r.cfg.Now())
	if err != nil {
		return fmt.Errorf("ocsp: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.issuers.Load()
	next := &issuerSet{byKey: map[issuerKey]*issuer{}, byID: map[string]*issuer{}}
	for _, o := range old.list {
		if o.ID == iss.ID {
			continue
		}
		if o.keyHashes[crypto.SHA256] == p.keyHashes[crypto.SHA256] {
			return fmt.Errorf("ocsp: CA %q is already served as %q", iss.ID, o.ID)
		}
		next.add(o)
	}
	next.add(p)
	r.epoch.Add(1)
	r.issuers.Store(next)
	if _, replaced := old.byID[iss.ID]; replaced {
		r.cache.removeIf(func(e *entry) bool { return e.iss.ID == iss.ID })
	}
	return nil
}

// RemoveIssuer stops serving the CA with that ID and drops its responses.
func (r *Responder) RemoveIssuer(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.issuers.Load()
	next := &issuerSet{byKey: map[issuerKey]*issuer{}, byID: map[string]*issuer{}}
	for _, o := range old.list {
		if o.ID != id {
			next.add(o)
		}
	}
	r.epoch.Add(1)
	r.issuers.Store(next)
	r.cache.removeIf(func(e *entry) bool { return e.iss.ID == id })
}

func (s *issuerSet) add(p *issuer) {
	s.list = append(s.list, p)
	s.byID[p.ID] = p
	for _, k := range p.keyHashes {
		s.byKey[k] = p
	}
}

// find returns the served CA a CertID names, or nil.
func (s *issuerSet) find(c *CertID) *issuer {
	k, ok := makeIssuerKey(c.HashAlgorithm, c.IssuerNameHash, c.IssuerKeyHash)
	if !ok {
		return nil
	}
	return s.byKey[k]
}

// Respond answers one DER OCSPRequest with a DER OCSPResponse and its
// status. It never fails: errors become unsuccessful response statuses.
// The response may be shared with the cache: do not modify it.
func (r *Responder) Respond(ctx context.Context, request []byte) (response []byte, status ResponseStatus) {
	req := r.reqs.Get().(*Request)
	defer r.reqs.Put(req)
	a := r.answer(ctx, request, req)
	return a.der, a.status
}

// answer is the outcome for one request.
type answer struct {
	der    []byte
	status ResponseStatus
	result Result
	e      *entry // the pre-signed response, when der is one
	nonce  bool   // der is unique to this request (nonce echoed)
	// nextUpdate of a response signed on demand, for HTTP caching.
	thisUpdate, nextUpdate time.Time
}

func (r *Responder) failure(s ResponseStatus) answer {
	res := ResultInternalError
	switch s {
	case MalformedRequest:
		res = ResultMalformed
	case Unauthorized:
		res = ResultUnauthorized
	case TryLater:
		res = ResultTryLater
	}
	return answer{der: errorResponse(s), status: s, result: res}
}

func (r *Responder) answerError(err error) answer {
	var re *ResponseError
	if errors.As(err, &re) {
		return r.failure(re.Status)
	}
	return r.failure(InternalError)
}

// answer parses der into req (whose storage is reused) and answers it.
func (r *Responder) answer(ctx context.Context, der []byte, req *Request) answer {
	if err := req.parse(der, r.cfg.MaxCertIDs); err != nil {
		return r.answerError(err)
	}
	now := r.cfg.Now()
	if len(req.CertIDs) == 1 && req.NonceExtnValue == nil {
		c := &req.CertIDs[0]
		if e := r.cache.get(c.Raw); e != nil && now.Before(e.nextUpdate) {
			if !now.Before(e.refreshAt) {
				r.refreshAsync(e)
			}
			return answer{der: e.der, result: ResultCached, e: e}
		}
		set := r.issuers.Load()
		iss := set.find(c)
		if iss == nil {
			return r.failure(Unauthorized)
		}
		e, err := r.fill(ctx, iss, c)
		if err != nil {
			return r.answerError(err)
		}
		return answer{der: e.der, result: ResultSigned, e: e}
	}
	return r.signOnDemand(ctx, req, now)
}

// signOnDemand answers a request with a nonce or several CertIDs: one
// signature over all SingleResponses. The signer slot is taken before the
// status lookups, so a flood of such requests bounds store queries too.
func (r *Responder) signOnDemand(ctx context.Context, req *Request, now time.Time) answer {
	set := r.issuers.Load()
	var cached *entry
	if len(req.CertIDs) == 1 {
		if e := r.cache.get(req.CertIDs[0].Raw); e != nil && now.Before(e.nextUpdate) {
			cached = e
		}
	}
	if !r.tryAcquire() {
		if cached != nil {
			return answer{der: cached.der, result: ResultNonceDropped, e: cached}
		}
		if err := r.acquire(ctx, r.cfg.SignWait); err != nil {
			return r.failure(TryLater)
		}
	}
	defer r.release()
	singles := make([]single, len(req.CertIDs))
	counts := make(map[*issuer]int)
	for i := range req.CertIDs {
		c := &req.CertIDs[i]
		singles[i] = single{certID: c.Raw, status: Status{Status: Unknown}}
		if e := r.cache.get(c.Raw); e != nil && now.Before(e.nextUpdate) {
			singles[i].status = e.status
			counts[e.iss]++
			continue
		}
		iss := set.find(c)
		if iss == nil {
			continue
		}
		counts[iss]++
		st, err := r.cfg.Lookup(ctx, iss.Issuer, c.SerialNumber())
		if err != nil {
			r.log.Error("ocsp status lookup", "ca", iss.ID, "serial", c.SerialNumber().Text(16), "err", err)
			return r.failure(InternalError)
		}
		singles[i].status = st
	}
	var signer *issuer
	for _, p := range set.list { // the CA named most often; ties: first served
		if counts[p] > counts[signer] {
			signer = p
		}
	}
	if signer == nil {
		return r.failure(Unauthorized)
	}
	thisUpdate, nextUpdate := r.validity(signer, now)
	der, err := r.signTimed(signer, now, thisUpdate, nextUpdate, singles, req.NonceExtnValue)
	if err != nil {
		r.log.Error("ocsp sign", "ca", signer.ID, "err", err)
		return r.failure(InternalError)
	}
	return answer{der: der, result: ResultSigned, nonce: req.NonceExtnValue != nil, thisUpdate: thisUpdate, nextUpdate: nextUpdate}
}

func (r *Responder) validity(p *issuer, now time.Time) (thisUpdate, nextUpdate time.Time) {
	thisUpdate = now.UTC().Truncate(time.Second)
	nextUpdate = thisUpdate.Add(r.cfg.Validity)
	if na := p.responder.NotAfter; na.Before(nextUpdate) {
		nextUpdate = na.UTC().Truncate(time.Second)
	}
	return thisUpdate, nextUpdate
}

func (r *Responder) signTimed(p *issuer, now, thisUpdate, nextUpdate time.Time, singles []single, nonce []byte) ([]byte, error) {
	t0 := time.Now()
	der, err := p.sign(r.cfg.Rand, now, thisUpdate, nextUpdate, singles, nonce)
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.Signed(time.Since(t0))
	}
	return der, err
}

func (r *Responder) tryAcquire() bool {
	select {
	case r.signers <- struct{}{}:
		return true
	default:
		return false
	}
}

// acquire waits for a signer for up to wait (0: until ctx is done).
func (r *Responder) acquire(ctx context.Context, wait time.Duration) error {
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	select {
	case r.signers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &ResponseError{Status: TryLater, Reason: "all signers busy"}
	}
}

func (r *Responder) release() { <-r.signers }

// fill signs and caches the response for one CertID of a served CA,
// once for all concurrent requests asking for it.
func (r *Responder) fill(ctx context.Context, iss *issuer, c *CertID) (*entry, error) {
	key := string(c.Raw)
	r.mu.Lock()
	if f, ok := r.flights[key]; ok {
		r.mu.Unlock()
		select {
		case <-f.done:
			return f.e, f.err
		case <-ctx.Done():
			return nil, &ResponseError{Status: TryLater, Reason: "request cancelled"}
		}
	}
	f := &flight{done: make(chan struct{})}
	r.flights[key] = f
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.flights, key)
		r.mu.Unlock()
		close(f.done)
	}()
	f.e, f.err = r.signEntry(ctx, iss, key, c.SerialNumber(), nil, 0, r.cfg.SignWait)
	return f.e, f.err
}

// signEntry looks up the status (unless known is given), signs the
// response for the CertID key and caches it unless an invalidation
// happened meanwhile (for a known status: since knownEpoch, when it was
// read). It waits up to wait for a signer (0: until ctx ends).
func (r *Responder) signEntry(ctx context.Context, iss *issuer, key string, serial *big.Int, known *Status, knownEpoch uint64, wait time.Duration) (*entry, error) {
	// The slot is taken before the lookup: a flood of cache misses is
	// bounded in store queries as well as in signatures.
	if err := r.acquire(ctx, wait); err != nil {
		return nil, err
	}
	defer r.release()
	epoch := r.epoch.Load()
	var st Status
	if known != nil {
		st, epoch = *known, knownEpoch
	} else {
		var err error
		if st, err = r.cfg.Lookup(ctx, iss.Issuer, serial); err != nil {
			r.log.Error("ocsp status lookup", "ca", iss.ID, "serial", serial.Text(16), "err", err)
			return nil, &ResponseError{Status: InternalError, Reason: err.Error()}
		}
	}
	st.Serial = serial
	now := r.cfg.Now()
	thisUpdate, nextUpdate := r.validity(iss, now)
	der, err := r.signTimed(iss, now, thisUpdate, nextUpdate, []single{{certID: []byte(key), status: st}}, nil)
	if err != nil {
		r.log.Error("ocsp sign", "ca", iss.ID, "err", err)
		return nil, &ResponseError{Status: InternalError, Reason: err.Error()}
	}
	e := newEntry(key, iss, st, der, thisUpdate, nextUpdate)
	if r.epoch.Load() == epoch {
		r.cache.put(e)
	}
	return e, nil
}

// refreshAsync re-signs e in the background, once at a time, unless
// MaxSigners background re-signings are under way already (then Run or a
// later request does it: e stays valid until its nextUpdate).
func (r *Responder) refreshAsync(e *entry) {
	select {
	case r.refreshers <- struct{}{}:
	default:
		return
	}
	if !e.refreshing.CompareAndSwap(false, true) {
		<-r.refreshers
		return
	}
	go func() {
		defer func() { <-r.refreshers }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r.refresh(ctx, e)
	}()
}

// refresh re-signs e with a fresh status; e.refreshing is set by the caller.
func (r *Responder) refresh(ctx context.Context, e *entry) {
	defer e.refreshing.Store(false)
	iss := r.issuers.Load().byID[e.iss.ID]
	if iss == nil {
		r.cache.remove(e.key)
		return
	}
	if _, err := r.signEntry(ctx, iss, e.key, e.status.Serial, nil, 0, 0); err != nil {
		r.log.Warn("ocsp refresh", "ca", iss.ID, "serial", e.status.Serial.Text(16), "err", err)
	}
}

// Run re-signs pre-signed responses when half their validity (plus a
// random quarter, to spread the work) has passed,
// so that requests for them never wait for a signature; requests also
// trigger the re-signing, so Run only matters for responses nobody asked
// for lately. It returns when ctx is done.
func (r *Responder) Run(ctx context.Context) error {
	every := r.cfg.Validity / 16
	every = max(time.Second, min(every, time.Minute))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		for _, e := range r.cache.due(r.cfg.Now()) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if e.refreshing.CompareAndSwap(false, true) {
				r.refresh(ctx, e)
			}
		}
	}
}

// certIDKeys returns the CertID encodings a client may send for a serial
// of iss: each supported hash, with NULL or absent parameters.
func certIDKeys(iss *issuer, serial *big.Int) []string {
	keys := make([]string, 0, 2*len(hashes))
	for _, h := range hashes {
		for _, null := range []bool{true, false} {
			keys = append(keys, certIDKey(iss, h.hash, h.oid, serial, null))
		}
	}
	return keys
}

func certIDKey(iss *issuer, h crypto.Hash, oid []byte, serial *big.Int, null bool) string {
	k := iss.keyHashes[h]
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
			if null {
				b.AddASN1NULL()
			}
		})
		b.AddASN1OctetString(k.name[:k.nameLen])
		b.AddASN1OctetString(k.key[:k.keyLen])
		b.AddASN1BigInt(serial)
	})
	return string(b.BytesOrPanic())
}

func (r *Responder) issuer(id string) (*issuer, error) {
	iss := r.issuers.Load().byID[id]
	if iss == nil {
		return nil, fmt.Errorf("ocsp: no CA %q is served", id)
	}
	return iss, nil
}

// Invalidate drops the pre-signed responses for one certificate, so the
// next request looks its status up again. Call it (or Refresh) when a
// certificate's status changes.
func (r *Responder) Invalidate(issuerID string, serial *big.Int) {
	r.epoch.Add(1)
	iss := r.issuers.Load().byID[issuerID]
	if iss == nil {
		return
	}
	for _, k := range certIDKeys(iss, serial) {
		r.cache.remove(k)
	}
}

// Refresh is Invalidate followed by re-signing, with a fresh status, every
// response that was cached for the certificate (at least the SHA-1 one),
// so that the next request is served from memory again.
func (r *Responder) Refresh(ctx context.Context, issuerID string, serial *big.Int) error {
	r.epoch.Add(1)
	iss, err := r.issuer(issuerID)
	if err != nil {
		return err
	}
	var keys []string
	for _, k := range certIDKeys(iss, serial) {
		if r.cache.remove(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		keys = []string{certIDKey(iss, crypto.SHA1, oidSHA1, serial, true)}
	}
	for _, k := range keys {
		if _, err := r.signEntry(ctx, iss, k, serial, nil, 0, 0); err != nil {
			return fmt.Errorf("ocsp: refresh CA %q serial %s: %w", issuerID, serial.Text(16), err)
		}
	}
	return nil
}

// Prepare pre-signs the responses for the SHA-1 CertIDs (what browsers,
// nginx, openssl and Go's x/crypto/ocsp send) of certificates of one CA.
// load returns their statuses (one store query, instead of a Lookup per
// certificate); Prepare calls it itself so that any Invalidate or Refresh
// from then on is noticed: a status that may have changed after load read
// it is looked up again rather than pre-signed stale. Prepare stops when
// the cache is full; further certificates are signed on first request.
func (r *Responder) Prepare(ctx context.Context, issuerID string, load func(context.Context) ([]Status, error)) error {
	iss, err := r.issuer(issuerID)
	if err != nil {
		return err
	}
	epoch := r.epoch.Load()
	statuses, err := load(ctx)
	if err != nil {
		return fmt.Errorf("ocsp: prepare CA %q: %w", issuerID, err)
	}
	for i := range statuses {
		if statuses[i].Serial == nil {
			return fmt.Errorf("ocsp: prepare CA %q: status %d has no serial", issuerID, i)
		}
	}
	// MaxSigners workers: each signature still takes a signer slot, so
	// requests keep their share while the cache warms.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	work := make(chan int)
	for range r.cfg.MaxSigners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				st := statuses[i]
				known := &st
				if r.epoch.Load() != epoch {
					known = nil
				}
				key := certIDKey(iss, crypto.SHA1, oidSHA1, st.Serial, true)
				if _, err := r.signEntry(ctx, iss, key, st.Serial, known, epoch, 0); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("ocsp: prepare CA %q serial %s: %w", issuerID, st.Serial.Text(16), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return firstErr != nil }
	room := r.cfg.MaxCached - r.cache.len() // never evict what Prepare just signed
	for i := range statuses {
		if i >= room || r.cache.len() >= r.cfg.MaxCached || ctx.Err() != nil || failed() {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// Cached returns the number of pre-signed responses held in memory.
func (r *Responder) Cached() int { return r.cache.len() }
