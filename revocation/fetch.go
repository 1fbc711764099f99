package revocation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// A Fetcher retrieves the bytes a URL points to: a DER CRL (or, for HTTP,
// also a PEM one). Config.Fetchers maps URL schemes to Fetchers; network
// failures should be wrapped so that errors.Is(err, ErrUnavailable) holds,
// which lets Config.SoftFail tolerate them.
//
// pkid's ldap package provides one for ldap:// URLs (RFC 4516: the
// certificateRevocationList;binary attribute of the entry).
type Fetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

// FetcherFunc adapts a function to the Fetcher interface.
type FetcherFunc func(ctx context.Context, url string) ([]byte, error)

// Fetch calls f(ctx, url).
func (f FetcherFunc) Fetch(ctx context.Context, url string) ([]byte, error) { return f(ctx, url) }

// HTTPFetcher fetches http:// and https:// URLs with GET.
type HTTPFetcher struct {
	// Client is the HTTP client; nil means http.DefaultClient. The
	// Checker's per-fetch timeout applies through the context.
	Client *http.Client
	// MaxSize bounds the body; zero means 32 MiB.
	MaxSize int64
}

// Fetch GETs url and returns the body of a 200 response.
func (f *HTTPFetcher) Fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return f.do(req)
}

func (f *HTTPFetcher) do(req *http.Request) ([]byte, error) {
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	max := f.MaxSize
	if max <= 0 {
		max = 32 << 20
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL is already named by the caller; keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s: %w", req.Method, ue.Err)
		}
		return nil, unavailable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(fmt.Errorf("HTTP status %s", resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, unavailable(fmt.Errorf("reading body: %w", err))
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("response larger than %d bytes", max)
	}
	return body, nil
}

// post sends an OCSP request.
func (f *HTTPFetcher) post(ctx context.Context, u string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	req.Header.Set("Accept", "application/ocsp-response")
	return f.do(req)
}

// noFetcherError reports a URL scheme nobody configured. For SoftFail it
// counts as "no usable source" (errors.Is(err, ErrNoSource)).
type noFetcherError struct{ scheme string }

func (e *noFetcherError) Error() string {
	if e.scheme == "ldap" || e.scheme == "ldaps" {
		return fmt.Sprintf("no %s:// fetcher configured (set Config.Fetchers[%q], e.g. to pkid's LDAP fetcher)", e.scheme, e.scheme)
	}
	return fmt.Sprintf("no %s:// fetcher configured", e.scheme)
}

func (e *noFetcherError) Is(target error) bool { return target == ErrNoSource }

func errNoFetcher(scheme string) error { return &noFetcherError{scheme} }

func urlScheme(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("bad URL %q: %w", u, err)
	}
	if p.Scheme == "" {
		return "", errors.New("URL " + u + " has no scheme")
	}
	return strings.ToLower(p.Scheme), nil
}
