package revocation

import (
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// maxGETLength is RFC 5019 §5's limit for OCSP requests sent with GET.
const maxGETLength = 255

// ocspQuery asks the responder at u about cert (RFC 6960 Appendix A, with
// RFC 5019's GET for small requests), using the cache when fresh.
func (c *Checker) ocspQuery(ctx context.Context, cert, issuer *x509.Certificate, u string) (Status, error) {
	source := "the OCSP responder at " + u
	scheme, err := urlScheme(u)
	if err != nil {
		return Status{}, err
	}
	if scheme != "http" && scheme != "https" {
		return Status{}, fmt.Errorf("OCSP over %s:// is not supported", scheme)
	}
	keyHash := sha1.Sum(issuer.RawSubjectPublicKeyInfo)
	key := fmt.Sprintf("ocsp\x00%s\x00%x\x00%x", u, keyHash, cert.SerialNumber.Bytes())
	// The cache holds verified answers only, each until its nextUpdate.
	if v, ok := c.cache.get(key, c.now()); ok {
		st := v.(Status)
		st.Certificate = cert
		return st, nil
	}
	v, err := c.once(ctx, key, func() (any, error) { return c.ocspFetch(ctx, cert, issuer, u) })
	if err != nil {
		return Status{}, err
	}
	body := v.([]byte)
	st, err := c.ocspFromBytes(body, cert, issuer, source)
	if err != nil {
		return Status{}, err
	}
	if !st.NextUpdate.IsZero() {
		c.cache.put(key, st, c.cacheUntil(st.NextUpdate))
	}
	return st, nil
}

// ocspFetch sends the request: GET when the URL stays within RFC 5019's
// 255 bytes, POST otherwise.
func (c *Checker) ocspFetch(ctx context.Context, cert, issuer *x509.Certificate, u string) ([]byte, error) {
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, fmt.Errorf("create OCSP request: %w", err)
	}
	fctx, cancel := context.WithTimeout(ctx, c.fetchTimeout())
	defer cancel()
	var body []byte
	getURL := strings.TrimSuffix(u, "/") + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(req))
	if len(getURL) <= maxGETLength {
		var hreq *http.Request
		hreq, err = http.NewRequestWithContext(fctx, http.MethodGet, getURL, nil)
		if err == nil {
			hreq.Header.Set("Accept", "application/ocsp-response")
			body, err = c.http.do(hreq)
		}
	} else {
		body, err = c.http.post(fctx, u, req)
	}
	if err != nil {
		if fctx.Err() != nil && !errors.Is(err, ErrUnavailable) {
			err = unavailable(err)
		}
		return nil, err
	}
	return body, nil
}

// ocspFromBytes parses and authenticates an OCSP response for cert: signed
// by the issuer itself, or by a delegated responder certificate that the
// issuer signed and that carries id-kp-OCSPSigning (RFC 6960 §4.2.2.2);
// thisUpdate not in the future and nextUpdate not past (RFC 6960 §3.2).
func (c *Checker) ocspFromBytes(der []byte, cert, issuer *x509.Certificate, source string) (Status, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) && (re.Status == ocsp.TryLater || re.Status == ocsp.InternalError) {
			return Status{}, unavailable(fmt.Errorf("responder answered %s", re.Status))
		}
		return Status{}, fmt.Errorf("bad OCSP response: %w", err)
	}
	if err := checkCertID(resp.TBSResponseData, cert.SerialNumber, issuer, resp.IssuerHash); err != nil {
		return Status{}, err
	}
	now := c.now()
	switch {
	case resp.Certificate == nil:
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return Status{}, fmt.Errorf("OCSP response not signed by the issuer %s: %w", issuer.Subject, err)
		}
	case resp.Certificate.Equal(issuer):
		// ParseResponseForCert verified the signature with it.
	default:
		rc := resp.Certificate
		if err := rc.CheckSignatureFrom(issuer); err != nil {
			return Status{}, fmt.Errorf("OCSP responder certificate %s is not issued by %s: %w", certName(rc), issuer.Subject, err)
		}
		ok := false
		for _, eku := range rc.ExtKeyUsage {
			if eku == x509.ExtKeyUsageOCSPSigning {
				ok = true
			}
		}
		if !ok {
			return Status{}, fmt.Errorf("OCSP responder certificate %s lacks the OCSPSigning extended key usage", certName(rc))
		}
		if now.Before(rc.NotBefore) || now.After(rc.NotAfter) {
			return Status{}, fmt.Errorf("OCSP responder certificate %s is not valid at %s", certName(rc), fmtTime(now))
		}
	}
	skew := c.skew()
	if resp.ThisUpdate.After(now.Add(skew)) {
		return Status{}, fmt.Errorf("OCSP response thisUpdate %s is in the future", fmtTime(resp.ThisUpdate))
	}
	if !resp.NextUpdate.IsZero() && now.Add(-skew).After(resp.NextUpdate) {
		return Status{}, fmt.Errorf("OCSP response is stale: nextUpdate %s has passed", fmtTime(resp.NextUpdate))
	}
	if resp.NextUpdate.IsZero() && now.Sub(resp.ThisUpdate) > maxOCSPAgeWithoutNextUpdate {
		return Status{}, fmt.Errorf("OCSP response without nextUpdate is older than %s", maxOCSPAgeWithoutNextUpdate)
	}
	method := MethodOCSP
	if source == "the stapled OCSP response" {
		method = MethodStaple
	}
	st := Status{Certificate: cert, Method: method, Source: source, ThisUpdate: resp.ThisUpdate, NextUpdate: resp.NextUpdate}
	switch resp.Status {
	case ocsp.Good:
		st.State = Good
	case ocsp.Revoked:
		st.State, st.Reason, st.RevokedAt = Revoked, Reason(resp.RevocationReason), resp.RevokedAt
	default:
		return Status{}, errors.New("the responder does not know the certificate (status unknown)")
	}
	return st, nil
}

// maxOCSPAgeWithoutNextUpdate bounds how old a response that promises no
// nextUpdate may be (RFC 6960 §4.2.2.1 leaves it to local policy).
const maxOCSPAgeWithoutNextUpdate = 24 * time.Hour
