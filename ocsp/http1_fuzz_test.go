package ocsp

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"
)

// FuzzParseHead: the lean loop's HTTP parser never panics, reads every
// input as the byte-at-a-time reference parser does, and every head it
// takes for itself is one net/http reads the same way: method, target,
// unescaped path, Content-Length, Content-Type and Connection: close.
// Whatever it is unsure of must be headForeign (net/http's).
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET /ocsp/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ%3D HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
		"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nConnection: keep-alive, close\r\nUser-Agent: Go-http-client/1.1\r\n\r\n",
		"GET /ocsp/a+b/c== HTTP/1.1\r\nHost: [::1]:80\r\nAccept-Encoding: gzip\r\n\r\nGET /x HTTP/1.1\r\n",
		"GET /ocsp/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /ocsp/x HTTP/1.0\r\n\r\n",
		"GET /ocsp/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /ocsp/x HTTP/1.1\nHost: x\n\n",
		"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
		"GET /ocsp/x HTTP/1.1\r\nHost: x\r\n X: folded\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h, ref head
		got, want := parseHead(b, &h), parseHeadRef(b, &ref)
		if got != want || got == headComplete && !sameHead(&h, &ref) {
			t.Fatalf("parseHead: %d %+v, the reference: %d %+v", got, h, want, ref)
		}
		if got != headComplete {
			return
		}
		if h.n <= 0 || h.n > len(b) {
			t.Fatalf("head length %d of %d bytes", h.n, len(b))
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		p, ok := unescapePath(nil, h.target)
		if !ok {
			// The loop hands it off (eligible fails): net/http answers 400.
			if err == nil {
				t.Fatalf("net/http unescapes %q, the loop cannot", h.target)
			}
			return
		}
		if err != nil {
			t.Fatalf("net/http rejects a head the loop accepts: %v", err)
		}
		wantMethod := "GET"
		if h.post {
			wantMethod = "POST"
		}
		if req.Method != wantMethod || req.RequestURI != string(h.target) || req.ProtoMajor != 1 || req.ProtoMinor != 1 {
			t.Fatalf("net/http reads %s %s HTTP/%d.%d; the loop %s %s", req.Method, req.RequestURI, req.ProtoMajor, req.ProtoMinor, wantMethod, h.target)
		}
		if req.ContentLength != h.contentLength && !(req.ContentLength == -1 && h.contentLength == 0) {
			t.Fatalf("Content-Length: net/http %d, the loop %d", req.ContentLength, h.contentLength)
		}
		if ct, ok := req.Header["Content-Type"]; ok != (h.contentType != nil) || ok && (len(ct) != 1 || ct[0] != string(h.contentType)) {
			t.Fatalf("Content-Type: net/http %q, the loop %q", ct, h.contentType)
		}
		if req.Close != h.close {
			t.Fatalf("close: net/http %v, the loop %v", req.Close, h.close)
		}
		if req.TransferEncoding != nil {
			t.Fatalf("Transfer-Encoding %q taken by the loop", req.TransferEncoding)
		}
		if req.URL.Path != string(p) {
			t.Fatalf("path: net/http %q, the loop %q", req.URL.Path, p)
		}
	})
}

func sameHead(a, b *head) bool {
	return a.post == b.post && bytes.Equal(a.target, b.target) && a.contentLength == b.contentLength &&
		(a.contentType == nil) == (b.contentType == nil) && bytes.Equal(a.contentType, b.contentType) &&
		a.close == b.close && a.n == b.n
}
