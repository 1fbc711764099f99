package ocsp

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Media types of RFC 6960 Appendix C.
const (
	ContentTypeRequest  = "application/ocsp-request"
	ContentTypeResponse = "application/ocsp-response"
)

var (
	hdrContentType = []string{ContentTypeResponse}
	hdrNoStore     = []string{"no-store"}
	hdrAllow       = []string{"GET, HEAD, POST"}
)

// bufs holds request bodies and decoded GET paths.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// ServeHTTP answers OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5-6):
//
//   - POST Prefix (or Prefix/) with an application/ocsp-request body. A
//     missing Content-Type is accepted (the body is DER either way); any
//     other type is HTTP 415. A body over MaxRequestBytes is HTTP 413.
//   - GET Prefix/<base64 of the DER request>, URL-escaped or not; a '+'
//     turned into ' ', missing '=' padding and the URL-safe alphabet are
//     tolerated. Bad base64 is HTTP 400 with a malformedRequest body.
//     Responses carry RFC 5019 caching headers and conditional GET
//     (If-None-Match, If-Modified-Since) is answered 304.
//
// Unsuccessful OCSP statuses (malformedRequest for bad DER, unauthorized,
// tryLater, internalError) are HTTP 200 with the OCSPResponse: the OCSP
// status, not the HTTP one, is what clients act on.
func (r *Responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		r.serveGet(w, req)
	case http.MethodPost:
		r.servePost(w, req)
	default:
		w.Header()["Allow"] = hdrAllow
		r.reject(w, req, http.StatusMethodNotAllowed, "use GET or POST (RFC 6960 Appendix A)")
	}
}

func (r *Responder) reject(w http.ResponseWriter, req *http.Request, code int, msg string) {
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.Request(req.Method, ResultRejected)
	}
	http.Error(w, msg, code)
}

func (r *Responder) servePost(w http.ResponseWriter, req *http.Request) {
	if p := req.URL.Path; p != r.prefix && p != r.prefix+"/" && !(r.prefix == "" && p == "") {
		r.reject(w, req, http.StatusNotFound, "POST OCSP requests to "+r.prefix+"/")
		return
	}
	if ct := req.Header["Content-Type"]; len(ct) > 0 && ct[0] != ContentTypeRequest {
		if mt, _, err := mime.ParseMediaType(ct[0]); err != nil || mt != ContentTypeRequest {
			r.reject(w, req, http.StatusUnsupportedMediaType, "Content-Type must be "+ContentTypeRequest)
			return
		}
	}
	limit := r.cfg.MaxRequestBytes
	if req.ContentLength > limit {
		r.reject(w, req, http.StatusRequestEntityTooLarge, "OCSP request larger than "+strconv.FormatInt(limit, 10)+" bytes")
		return
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	body, err := readBody(req.Body, (*bp)[:0], limit)
	*bp = body[:0]
	if err == errTooLarge {
		r.reject(w, req, http.StatusRequestEntityTooLarge, "OCSP request larger than "+strconv.FormatInt(limit, 10)+" bytes")
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// ReadTimeout of the server: net/http closes the connection after
		// the answer, as the body was not read whole.
		r.reject(w, req, http.StatusRequestTimeout, msgBodyTimeout)
		return
	}
	if err != nil {
		r.reject(w, req, http.StatusBadRequest, "reading the request body failed")
		return
	}
	rq := r.reqs.Get().(*Request)
	defer r.reqs.Put(rq)
	a := r.answer(req.Context(), body, rq)
	h := w.Header()
	h["Content-Type"] = hdrContentType
	if a.e != nil {
		h["Content-Length"] = a.e.hdrLength
	} else {
		h["Content-Length"] = []string{strconv.Itoa(len(a.der))}
	}
	r.count(req.Method, a.result)
	w.WriteHeader(http.StatusOK)
	w.Write(a.der)
}

var errTooLarge = errors.New("request body too large")

// readBody appends up to limit bytes of body to buf.
func readBody(body io.Reader, buf []byte, limit int64) ([]byte, error) {
	for {
		if int64(len(buf)) > limit {
			return buf, errTooLarge
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return buf, errTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (r *Responder) count(method string, res Result) {
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.Request(method, res)
	}
}

func (r *Responder) serveGet(w http.ResponseWriter, req *http.Request) {
	p := req.URL.Path
	if len(p) < len(r.prefix)+1 || p[:len(r.prefix)] != r.prefix || p[len(r.prefix)] != '/' {
		r.reject(w, req, http.StatusNotFound, "GET OCSP requests from "+r.prefix+"/<base64 request>")
		return
	}
	enc := p[len(r.prefix)+1:]
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	der, ok := decodeGetPath(enc, (*bp)[:0])
	if ok {
		*bp = der[:0]
	}
	h := w.Header()
	if !ok || len(der) == 0 {
		r.count(req.Method, ResultMalformed)
		h["Content-Type"] = hdrContentType
		h["Cache-Control"] = hdrNoStore
		w.WriteHeader(http.StatusBadRequest)
		w.Write(errorResponse(MalformedRequest))
		return
	}
	rq := r.reqs.Get().(*Request)
	defer r.reqs.Put(rq)
	a := r.answer(req.Context(), der, rq)
	h["Content-Type"] = hdrContentType
	ch := r.cachingHeaders(&a)
	h["Cache-Control"] = ch.cacheControl
	if ch.lastModified != nil {
		h["Last-Modified"] = ch.lastModified
		h["Expires"] = ch.expires
	}
	if a.e != nil {
		h["Etag"] = ch.etag
		if notModified(req, a.e) {
			r.count(req.Method, ResultNotModified)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h["Content-Length"] = a.e.hdrLength
	} else {
		h["Content-Length"] = []string{strconv.Itoa(len(a.der))}
	}
	r.count(req.Method, a.result)
	w.WriteHeader(http.StatusOK)
	w.Write(a.der)
}

// getHeaders are the caching headers of a GET response; nil means absent.
type getHeaders struct {
	cacheControl, etag, lastModified, expires []string
}

// cachingHeaders returns the RFC 5019 §6.2 headers of a GET answer: the
// pre-signed response's, those of a cacheable response signed for this
// request (several CertIDs, no nonce), or no-store.
func (r *Responder) cachingHeaders(a *answer) getHeaders {
	switch {
	case a.e != nil:
		e := a.e
		return getHeaders{
			cacheControl: e.cacheControlAt(r.cfg.Now(), r.cfg.MaxAge),
			etag:         e.hdrETag, lastModified: e.hdrLastModified, expires: e.hdrExpires,
		}
	case a.status == Successful && !a.nonce:
		return getHeaders{
			cacheControl: []string{string(appendCacheControl(nil, a.nextUpdate, r.cfg.Now(), r.cfg.MaxAge))},
			lastModified: []string{a.thisUpdate.Format(http.TimeFormat)},
			expires:      []string{a.nextUpdate.Format(http.TimeFormat)},
		}
	}
	return getHeaders{cacheControl: hdrNoStore}
}

// notModified applies RFC 9110 §13.1.1-2 for a pre-signed response.
func notModified(req *http.Request, e *entry) bool {
	if inm := req.Header["If-None-Match"]; len(inm) > 0 {
		for _, v := range inm {
			for _, t := range strings.Split(v, ",") {
				t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
				if t == "*" || t == e.hdrETag[0] {
					return true
				}
			}
		}
		return false
	}
	if ims := req.Header["If-Modified-Since"]; len(ims) > 0 {
		t, err := http.ParseTime(ims[0])
		return err == nil && !e.thisUpdate.Truncate(time.Second).After(t)
	}
	return false
}

// decodeGetPath decodes the base64 request of a GET path into buf, being
// lenient about how clients and proxies mangle it.
func decodeGetPath(s string, buf []byte) ([]byte, bool) {
	if strings.IndexByte(s, '%') >= 0 {
		// Still escaped (a client that escaped twice, or a raw path).
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		s = u
	}
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	enc := base64.RawStdEncoding
	if strings.IndexByte(s, '-') >= 0 || strings.IndexByte(s, '_') >= 0 { // two vector scans beat ContainsAny's byte loop
		enc = base64.RawURLEncoding
	}
	if strings.IndexByte(s, ' ') >= 0 {
		s = strings.ReplaceAll(s, " ", "+")
	}
	n := enc.DecodedLen(len(s))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	m, err := enc.Decode(buf, unsafe.Slice(unsafe.StringData(s), len(s))) // Decode only reads src
	if err != nil {
		return nil, false
	}
	return buf[:m], true
}

// Recommended timeouts of NewServer.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 10 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 16 << 10
)

// NewServer returns an *http.Server for h with the timeouts an OCSP
// responder needs: the handler cannot stop a client that sends its request
// headers slowly, ReadHeaderTimeout does. MaxHeaderBytes also bounds GET
// requests, whose OCSP request is in the path.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// Mount returns a handler that sends requests under Prefix to the
// Responder and all others to next. Use it in front of an http.ServeMux:
// ServeMux cleans paths and would redirect a GET whose base64 request
// contains "//", which the Responder must see as sent.
func (r *Responder) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		if r.prefix == "" || p == r.prefix || strings.HasPrefix(p, r.prefix) && len(p) > len(r.prefix) && p[len(r.prefix)] == '/' {
			r.ServeHTTP(w, req)
			return
		}
		next.ServeHTTP(w, req)
	})
}
