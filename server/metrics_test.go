package server_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/server"
	xocsp "golang.org/x/crypto/ocsp"
)

// TestOCSPRequestsCounted: OCSP requests are counted in
// pkid_http_requests_total whether the lean OCSP loop answers them (info
// logging) or net/http with its per-request debug log does, including
// pipelined requests on one connection and a request the loop hands over;
// and in pkid_ocsp_responses_total under their method and result.
func TestOCSPRequestsCounted(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			f := start(t, "", func(c *server.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logWriter{t: t}, &slog.HandlerOptions{Level: level}))
			})
			iss, _ := f.issue(ca.Request{Profile: "client", Subject: "CN=counted"})
			der, err := xocsp.CreateRequest(iss.Certificate, f.issuer, nil)
			if err != nil {
				t.Fatal(err)
			}
			post := "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: " + strconv.Itoa(len(der)) + "\r\n\r\n" + string(der)
			put := "PUT /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
			get := "GET /ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der)) + " HTTP/1.1\r\nHost: x\r\n\r\n"
			head := "HEAD /ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der)) + " HTTP/1.1\r\nHost: x\r\n\r\n"
			c, err := net.Dial("tcp", f.srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, post+post+get+post+put+post+head)
			br := bufio.NewReader(c)
			for i, want := range []int{200, 200, 200, 200, 405, 200, 200} {
				if i == 6 {
					resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
					if err != nil || resp.StatusCode != 200 {
						t.Fatalf("HEAD: %v %v", resp, err)
					}
					continue
				}
				resp, err := readResponse(br)
				if err != nil {
					t.Fatal(err)
				}
				if resp.code != want {
					t.Fatalf("response %d: HTTP %d, want %d", i, resp.code, want)
				}
				if want == 200 {
					if r, err := xocsp.ParseResponseForCert(resp.body, iss.Certificate, f.issuer); err != nil || r.Status != xocsp.Good {
						t.Fatalf("response %d: %v", i, err)
					}
				}
			}
			_, body := f.get("/metrics")
			for _, want := range []string{
				`pkid_http_requests_total{code="200",endpoint="ocsp"} 6`,
				`pkid_http_requests_total{code="405",endpoint="ocsp"} 1`,
				`pkid_ocsp_responses_total{method="PUT",result="rejected"} 1`,
			} {
				if !strings.Contains(string(body), want+"\n") {
					t.Errorf("metrics lack %s", want)
				}
			}
			// Each request under its method: the first may have been signed
			// (a cache miss), the others are cached.
			for method, want := range map[string]float64{"POST": 4, "GET": 1, "HEAD": 1} {
				var n float64
				for _, result := range []string{"cached", "signed"} {
					n += metricValue(t, body, `pkid_ocsp_responses_total{method="`+method+`",result="`+result+`"}`)
				}
				if n != want {
					t.Errorf("%s answered: %v counted, want %v", method, n, want)
				}
			}
		})
	}
}

// metricValue returns the value of the series named exactly name in a
// Prometheus text exposition (0 when it is absent).
func metricValue(t *testing.T, body []byte, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

type rawResponse struct {
	code int
	body []byte
}

func readResponse(br *bufio.Reader) (*rawResponse, error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return &rawResponse{code: resp.StatusCode, body: b}, err
}
