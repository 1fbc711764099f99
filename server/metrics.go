package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pkid/pkid/ocsp"
)

// metrics are the server's Prometheus metrics, in a registry of their own
// so that several Servers (tests) never collide.
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	ocspResults *prometheus.CounterVec
	ocspSign    prometheus.Histogram
	crlBuilds   *prometheus.CounterVec
	crlErrors   *prometheus.CounterVec
	propagation prometheus.Histogram
	revision    prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkid_http_requests_total",
			Help: "HTTP requests by endpoint (ocsp, crl, ca, healthz, metrics, other) and status code.",
		}, []string{"endpoint", "code"}),
		ocspResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkid_ocsp_responses_total",
			Help: "OCSP HTTP requests by method and what the responder did (cached, signed, malformed, unauthorized, try_later, ...).",
		}, []string{"method", "result"}),
		ocspSign: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pkid_ocsp_signing_seconds",
			Help:    "Time to sign one OCSP response.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14),
		}),
		crlBuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkid_crl_generations_total",
			Help: "CRLs signed by this server, by CA and kind (full, delta).",
		}, []string{"ca", "kind"}),
		crlErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkid_crl_generation_errors_total",
			Help: "CRL generations that failed, by CA.",
		}, []string{"ca"}),
		propagation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pkid_revocation_propagation_seconds",
			Help:    "Delay from a revocation (or release) committed in the store to a new OCSP response and CRL being served.",
			Buckets: []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10},
		}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pkid_change_feed_revision",
			Help: "The last store change-feed revision the server has applied.",
		}),
	}
	m.reg.MustRegister(m.requests, m.ocspResults, m.ocspSign, m.crlBuilds, m.crlErrors, m.propagation, m.revision,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "pkid"}))
	return m
}

// resumerCounts exports the LDAP listeners' key-exchange choices
// (internal/tlshello.Resumer.Counts) as
// pkid_ldap_tls_config_total{config="classical_resumption"|"listener"}
// and pkid_ldap_tls_downgrades_refused_total, which should stay 0.
func (m *metrics) resumerCounts(counts func() (resumed, full, refused uint64)) {
	for _, c := range []struct {
		config string
		pick   func() float64
	}{
		{"classical_resumption", func() float64 { r, _, _ := counts(); return float64(r) }},
		{"listener", func() float64 { _, f, _ := counts(); return float64(f) }},
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "pkid_ldap_tls_config_total",
			Help:        "TLS ClientHellos of the LDAP listeners by the configuration chosen: classical_resumption (a session crypto/tls will resume, X25519) or listener (hybrid X25519MLKEM768 when offered).",
			ConstLabels: prometheus.Labels{"config": c.config},
		}, c.pick))
	}
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "pkid_ldap_tls_downgrades_refused_total",
		Help: "LDAP TLS handshakes aborted because crypto/tls refused a session ticket after the classical resumption configuration was chosen (should stay 0).",
	}, func() float64 { _, _, r := counts(); return float64(r) }))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ocspMetrics adapts metrics to ocsp.Metrics.
type ocspMetrics struct {
	m *metrics
	// known holds the counters of the usual label pairs, resolved once:
	// the responder reports every request, and a label lookup costs more
	// than the rest of counting.
	known map[ocspLabels]prometheus.Counter
}

type ocspLabels struct {
	method string
	result ocsp.Result
}

func newOCSPMetrics(m *metrics) ocspMetrics {
	o := ocspMetrics{m: m, known: map[ocspLabels]prometheus.Counter{}}
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
		for _, r := range []ocsp.Result{ocsp.ResultCached, ocsp.ResultSigned, ocsp.ResultNonceDropped, ocsp.ResultNotModified,
			ocsp.ResultMalformed, ocsp.ResultUnauthorized, ocsp.ResultTryLater, ocsp.ResultInternalError, ocsp.ResultRejected} {
			o.known[ocspLabels{method, r}] = m.ocspResults.WithLabelValues(method, string(r))
		}
	}
	return o
}

func (o ocspMetrics) Request(method string, result ocsp.Result) {
	if c, ok := o.known[ocspLabels{method, result}]; ok {
		c.Inc()
		return
	}
	o.m.ocspResults.WithLabelValues(method, string(result)).Inc()
}

func (o ocspMetrics) Signed(d time.Duration) { o.m.ocspSign.Observe(d.Seconds()) }

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// counter returns a function that counts a request to endpoint answered
// with code, for the OCSP requests ocsp.LeanServer answers without the
// count middleware.
func (m *metrics) counter(endpoint string) func(code int) {
	ok := m.requests.WithLabelValues(endpoint, "200")
	return func(code int) {
		if code == http.StatusOK {
			ok.Inc()
			return
		}
		m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	}
}

// count wraps h so every request is counted under endpoint and, when log
// is enabled for debug, logged (one line per request).
func (m *metrics) count(endpoint string, log *slog.Logger, h http.Handler) http.Handler {
	ok := m.requests.WithLabelValues(endpoint, "200") // the hot path skips the label lookup
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		debug := log.Enabled(r.Context(), slog.LevelDebug)
		var began time.Time
		if debug {
			began = time.Now()
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		if debug {
			log.Debug("http", "endpoint", endpoint, "method", r.Method, "path", r.URL.Path, "code", sw.code,
				"remote", r.RemoteAddr, "duration", time.Since(began))
		}
		if sw.code == http.StatusOK {
			ok.Inc()
			return
		}
		m.requests.WithLabelValues(endpoint, strconv.Itoa(sw.code)).Inc()
	})
}
