package ocsp

import (
	"context"
	"crypto"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// discardWriter is a minimal http.ResponseWriter, so the benchmarks
// measure the handler rather than a recorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

type benchBody struct {
	b   []byte
	off int
}

func (r *benchBody) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}
func (r *benchBody) Close() error { return nil }

func benchFixture(b *testing.B) (*fixture, []byte) {
	f := newFixture(b, "p256", nil)
	der := request(b, f.ca1, crypto.SHA1, f.good)
	if _, st := f.r.Respond(context.Background(), der); st != Successful {
		b.Fatal(st)
	}
	return f, der
}

func BenchmarkServeHTTPGetCached(b *testing.B) {
	f, der := benchFixture(b)
	u, _ := url.Parse("http://127.0.0.1/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der)))
	req := &http.Request{Method: "GET", URL: u, Header: http.Header{}}
	req = req.WithContext(context.Background())
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		f.r.ServeHTTP(w, req)
	}
	if w.code != 200 {
		b.Fatal(w.code)
	}
	if f.metrics.signed.Load() != 1 {
		b.Fatalf("signed %d times", f.metrics.signed.Load())
	}
}

func BenchmarkServeHTTPPostCached(b *testing.B) {
	f, der := benchFixture(b)
	u, _ := url.Parse("http://127.0.0.1/ocsp")
	body := &benchBody{b: der}
	req := &http.Request{Method: "POST", URL: u, Header: http.Header{"Content-Type": {ContentTypeRequest}}, Body: body, ContentLength: int64(len(der))}
	req = req.WithContext(context.Background())
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		body.off = 0
		f.r.ServeHTTP(w, req)
	}
	if w.code != 200 {
		b.Fatal(w.code)
	}
	if f.metrics.signed.Load() != 1 {
		b.Fatalf("signed %d times", f.metrics.signed.Load())
	}
}

func BenchmarkParseRequest(b *testing.B) {
	f := newFixture(b, "p256", nil)
	der := buildRequest(reqSpec{
		certIDs: [][]byte{certIDOf(b, f.ca1, crypto.SHA1, f.good.SerialNumber)},
		exts:    [][]byte{extension(oidNonce, false, octetString(make([]byte, 16)))},
	})
	var r Request
	b.ReportAllocs()
	for b.Loop() {
		if err := r.parse(der, DefaultMaxCertIDs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignResponse(b *testing.B) {
	for _, kind := range []string{"p256", "p384", "rsa", "ed25519"} {
		b.Run(kind, func(b *testing.B) {
			f := newFixture(b, kind, nil)
			p, err := prepare(f.ca1.issuer(), time.Now())
			if err != nil {
				b.Fatal(err)
			}
			singles := []single{{certID: certIDOf(b, f.ca1, crypto.SHA1, f.good.SerialNumber), status: Status{Status: Good}}}
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.sign(f.r.cfg.Rand, now, now, now.Add(time.Hour), singles, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
