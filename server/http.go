package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/pkid/pkid/ca"
)

// Media types of what the server publishes (RFC 2585 §4 for DER; PEM is
// the common x-pem-file).
const (
	ContentTypeCert = "application/pkix-cert"
	ContentTypeCRL  = "application/pkix-crl"
	ContentTypePEM  = "application/x-pem-file"
)

// Paths of the server's own endpoints.
const (
	HealthPath  = "/healthz"
	MetricsPath = "/metrics"
)

// resource is one published URL.
type resource struct {
	endpoint string // metrics label: "ca" or "crl"
	caID     string
	get      func() *published
	pem      bool
}

// setRoutes rebuilds the table of published URLs from the CAs: each at
// the paths ca writes into certificates, both under the CA's own base URL
// and at the root (for a CA made without --url).
func (s *Server) setRoutes() {
	m := map[string]resource{}
	for _, c := range s.caList() {
		c := c
		bases := []string{""}
		if c.rec().URL != "" {
			bases = append(bases, c.rec().URL)
		}
		for _, base := range bases {
			add := func(der, endpoint string, get func() *published) {
				m[urlPath(der)] = resource{endpoint: endpoint, caID: c.id, get: get}
				m[pemPath(urlPath(der))] = resource{endpoint: endpoint, caID: c.id, get: get, pem: true}
			}
			add(ca.CAIssuersURL(base, c.id), "ca", func() *published { return c.cert })
			if c.signs {
				add(ca.CRLURL(base, c.id), "crl", c.crls.full.Load)
				add(ca.CRLDeltaURL(base, c.id), "crl", c.crls.delta.Load)
			}
		}
	}
	s.routes.Store(&m)
}

// Handler is the server's HTTP handler: OCSP at ca.OCSPURL, CA
// certificates at ca.CAIssuersURL, CRLs at ca.CRLURL and ca.CRLDeltaURL
// (each also as PEM, with .pem for the extension), HealthPath and
// MetricsPath.
func (s *Server) Handler() http.Handler {
	metricsHandler := s.metrics.count("metrics", s.log, s.metrics.handler())
	health := s.metrics.count("healthz", s.log, http.HandlerFunc(s.serveHealth))
	ocspHandler := s.metrics.count("ocsp", s.log, s.resp)
	other := s.metrics.count("other", s.log, http.HandlerFunc(s.serveNotFound))
	published := map[string]http.Handler{
		"ca":  s.metrics.count("ca", s.log, http.HandlerFunc(s.servePublished)),
		"crl": s.metrics.count("crl", s.log, http.HandlerFunc(s.servePublished)),
	}
	prefix := urlPath(ca.OCSPURL(s.boot.URL))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		// OCSP GET paths are base64 and may hold "//": they are matched by
		// prefix, never cleaned (see ocsp.Responder.Mount).
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			ocspHandler.ServeHTTP(w, r)
			return
		}
		switch p {
		case HealthPath:
			health.ServeHTTP(w, r)
			return
		case MetricsPath:
			metricsHandler.ServeHTTP(w, r)
			return
		}
		if res, ok := (*s.routes.Load())[r.URL.Path]; ok {
			published[res.endpoint].ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}

// servePublished answers GET and HEAD for a CA certificate or CRL, with
// conditional GET.
func (s *Server) servePublished(w http.ResponseWriter, r *http.Request) {
	res := (*s.routes.Load())[r.URL.Path]
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET or HEAD", http.StatusMethodNotAllowed)
		return
	}
	p := res.get()
	if p == nil {
		if res.endpoint == "crl" && strings.Contains(r.URL.Path, "-delta") {
			http.Error(w, fmt.Sprintf("CA %q publishes no delta CRLs", res.caID), http.StatusNotFound)
			return
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, fmt.Sprintf("the CRL of CA %q is not ready yet", res.caID), http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	body, etag := p.der, p.etagDER
	switch {
	case res.pem:
		body, etag = p.pem, p.etagPEM
		h.Set("Content-Type", ContentTypePEM)
	case res.endpoint == "crl":
		h.Set("Content-Type", ContentTypeCRL)
	default:
		h.Set("Content-Type", ContentTypeCert)
	}
	h.Set("ETag", etag)
	if res.endpoint == "crl" {
		// A CRL changes within a second of a revocation: caches must
		// revalidate (cheap with the ETag), and it is void after
		// nextUpdate.
		h.Set("Cache-Control", "public, no-cache")
		h.Set("Expires", p.nextUpdate.UTC().Format(http.TimeFormat))
	} else {
		h.Set("Cache-Control", "public, max-age=86400")
	}
	http.ServeContent(w, r, "", p.modified, bytes.NewReader(body))
}

// serveIndex lists what the server publishes, for a person with a
// browser or curl.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET or HEAD", http.StatusMethodNotAllowed)
		return
	}
	base := s.boot.URL
	if base == "" {
		base = s.URL()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pkid serves:\n  OCSP (RFC 6960): POST %s, GET %s/<base64 request>\n", ca.OCSPURL(base), ca.OCSPURL(base))
	for _, c := range s.caList() {
		fmt.Fprintf(&b, "  CA %s (%s): certificate %s (PEM %s)\n", c.id, c.rec().Subject, ca.CAIssuersURL(base, c.id), pemPath(ca.CAIssuersURL(base, c.id)))
		if c.signs {
			fmt.Fprintf(&b, "    CRL %s (PEM %s)\n", ca.CRLURL(base, c.id), pemPath(ca.CRLURL(base, c.id)))
			if c.rec().DeltaCRL {
				fmt.Fprintf(&b, "    delta CRL %s\n", ca.CRLDeltaURL(base, c.id))
			}
		}
	}
	fmt.Fprintf(&b, "  health %s%s, metrics %s%s\n", base, HealthPath, base, MetricsPath)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	io.WriteString(w, b.String())
}

func (s *Server) serveNotFound(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/" {
		s.serveIndex(w, r)
		return
	}
	under := func(u string) bool { return strings.HasPrefix(p, path.Dir(urlPath(u))+"/") }
	if under(ca.CRLURL(s.boot.URL, "x")) || under(ca.CAIssuersURL(s.boot.URL, "x")) || under(ca.CRLURL("", "x")) || under(ca.CAIssuersURL("", "x")) {
		var ids []string
		for _, c := range s.caList() {
			ids = append(ids, c.id)
		}
		http.Error(w, fmt.Sprintf("no such CA certificate or CRL; the CAs are %s (e.g. %s)", strings.Join(ids, ", "),
			urlPath(ca.CRLURL(s.boot.URL, s.boot.DefaultCA.ID))), http.StatusNotFound)
		return
	}
	http.NotFound(w, r)
}

// Health is the JSON body of HealthPath.
type Health struct {
	Status   string     `json:"status"` // "ok" or "unavailable"
	Store    string     `json:"store"`  // "ok" or the error
	Revision int64      `json:"revision"`
	CAs      []CAHealth `json:"cas"`
	OCSP     OCSPHealth `json:"ocsp"`
	Time     time.Time  `json:"time"`
}

// CAHealth is one CA in Health.
type CAHealth struct {
	ID            string    `json:"id"`
	Subject       string    `json:"subject"`
	OCSP          bool      `json:"ocsp"` // a responder certificate is served
	CRLNumber     int64     `json:"crl_number,omitempty"`
	CRLNextUpdate time.Time `json:"crl_next_update,omitzero"`
}

// OCSPHealth is the responder's part of Health.
type OCSPHealth struct {
	Cached int `json:"cached"` // pre-signed responses in memory
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	h := Health{Status: "ok", Store: "ok", Revision: s.revision.Load(), OCSP: OCSPHealth{Cached: s.resp.Cached()}, Time: s.now().UTC()}
	_, err := s.st.Revision(ctx)
	if err != nil {
		h.Status, h.Store = "unavailable", err.Error()
	}
	s.storeResult(err)
	for _, c := range s.caList() {
		s.mu.Lock()
		ch := CAHealth{ID: c.id, Subject: c.rec().Subject, OCSP: c.issuer != nil}
		s.mu.Unlock()
		if p := c.crls.full.Load(); p != nil {
			ch.CRLNumber, ch.CRLNextUpdate = p.number, p.nextUpdate
		} else if c.signs {
			h.Status = "unavailable"
		}
		h.CAs = append(h.CAs, ch)
	}
	if len(h.CAs) == 0 {
		h.Status = "unavailable"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if h.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(h)
}
