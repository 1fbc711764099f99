package doctor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/pkid/pkid/revocation"
)

// verify checks the server's chain as a client would, then again piece by
// piece (chain, hostname, validity) to say what exactly is wrong.
func (p *prober) verify(ctx context.Context, r *Report, cs tls.ConnectionState) {
	v := &r.Verification
	v.Hostname = p.serverName
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		v.Error = "the server sent no certificate"
		return
	}
	v.IntermediatesSent = len(certs) - 1
	now := p.now()
	for _, c := range certs[:min(len(certs), maxChain)] {
		switch {
		case now.After(c.NotAfter):
			v.Expired = append(v.Expired, bounded(nameOf(c.Subject))+" (expired "+c.NotAfter.UTC().Format(time.DateTime)+" UTC)")
		case now.Before(c.NotBefore):
			v.NotYetValid = append(v.NotYetValid, bounded(nameOf(c.Subject))+" (valid from "+c.NotBefore.UTC().Format(time.DateTime)+" UTC)")
		}
	}
	opts := x509.VerifyOptions{
		Roots:         p.opts.RootCAs,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	// As crypto/tls does it: hostname included.
	withName := opts
	withName.DNSName = p.serverName
	if _, err := certs[0].Verify(withName); err != nil {
		r.verifyErr = err
		v.ClientWouldSay = "tls: failed to verify certificate: " + err.Error()
	}
	chains, err := certs[0].Verify(opts)
	if err != nil {
		v.Error = err.Error()
		if r.verifyErr == nil {
			r.verifyErr = err
		}
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			p.missingIssuer(ctx, r, certs, opts)
		}
	} else {
		v.ChainOK = true
		v.chains = chains
		for _, ch := range chains {
			var names []string
			for _, c := range ch {
				names = append(names, bounded(nameOf(c.Subject)))
			}
			v.Chains = append(v.Chains, names)
		}
	}
	if err := certs[0].VerifyHostname(p.serverName); err == nil {
		v.HostnameOK = true
	} else if v.Error == "" {
		v.Error = err.Error()
	}
	v.Verified = v.ChainOK && v.HostnameOK
}

// missingIssuer finds the certificate the chain stops at, and tries its AIA
// caIssuers URL.
func (p *prober) missingIssuer(ctx context.Context, r *Report, certs []*x509.Certificate, opts x509.VerifyOptions) {
	v := &r.Verification
	// Walk up from the leaf through the certificates the server sent.
	top := certs[0]
	seen := map[*x509.Certificate]bool{top: true}
	for {
		var next *x509.Certificate
		for _, c := range certs[1:] {
			if !seen[c] && bytes.Equal(c.RawSubject, top.RawIssuer) {
				next = c
				break
			}
		}
		if next == nil || bytes.Equal(top.RawIssuer, top.RawSubject) {
			break
		}
		seen[next] = true
		top = next
	}
	if bytes.Equal(top.RawIssuer, top.RawSubject) {
		v.MissingIssuer = bounded(nameOf(top.Subject)) + " (self-signed, not among the trusted roots)"
		return
	}
	v.MissingIssuer = bounded(nameOf(top.Issuer))
	if len(top.IssuingCertificateURL) == 0 {
		return
	}
	u := top.IssuingCertificateURL[0]
	f := &AIAFetch{URL: u}
	v.AIA = f
	issuer, err := p.fetchIssuer(ctx, u)
	if err != nil {
		f.Error = err.Error()
		return
	}
	f.Subject = bounded(nameOf(issuer.Subject))
	opts.Intermediates = opts.Intermediates.Clone()
	opts.Intermediates.AddCert(issuer)
	if _, err := certs[0].Verify(opts); err == nil {
		f.CompletesChain = true
	} else {
		f.Error = "fetched, but the chain still does not verify: " + err.Error()
	}
}

// fetchIssuer downloads a certificate from an AIA caIssuers URL (DER or
// PEM; RFC 5280 §4.2.2.1 also allows a certs-only PKCS#7, not read here).
func (p *prober) fetchIssuer(ctx context.Context, u string) (*x509.Certificate, error) {
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return nil, fmt.Errorf("only http:// and https:// caIssuers URLs are fetched")
	}
	client := p.opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 3 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(body); b != nil {
		body = b.Bytes
	}
	c, err := x509.ParseCertificate(body)
	if err != nil {
		return nil, fmt.Errorf("not a DER or PEM certificate (PKCS#7 is not read): %w", err)
	}
	return c, nil
}

// staple parses the stapled OCSP response.
func (p *prober) staple(r *Report, cs tls.ConnectionState) {
	if len(cs.OCSPResponse) == 0 {
		return
	}
	s := &Staple{}
	r.OCSPStaple = s
	var issuer *x509.Certificate
	if len(cs.PeerCertificates) > 1 {
		issuer = cs.PeerCertificates[1]
	}
	if ch := r.Verification.chains; len(ch) > 0 && len(ch[0]) > 1 {
		issuer = ch[0][1]
	}
	resp, err := ocsp.ParseResponse(cs.OCSPResponse, issuer)
	if err != nil {
		s.Status = "unusable"
		s.Error = err.Error()
		return
	}
	switch resp.Status {
	case ocsp.Good:
		s.Status = "good"
	case ocsp.Revoked:
		s.Status = "revoked"
		s.Reason = revocation.Reason(resp.RevocationReason).String()
		s.RevokedAt = resp.RevokedAt.UTC()
	default:
		s.Status = "unknown"
	}
	s.ProducedAt, s.ThisUpdate, s.NextUpdate = resp.ProducedAt.UTC(), resp.ThisUpdate.UTC(), resp.NextUpdate.UTC()
}

// revocation checks the verified chains through the revocation package,
// stapled response included.
func (p *prober) revocation(ctx context.Context, r *Report, cs tls.ConnectionState) {
	cs.VerifiedChains = r.Verification.chains
	sts, err := p.opts.Revocation.CheckConnection(ctx, cs)
	rev := &Revocation{}
	r.Revocation = rev
	r.revErr = err
	if err != nil {
		rev.Error = err.Error()
	}
	for _, st := range sts {
		rs := RevocationStatus{
			Subject: bounded(nameOf(st.Certificate.Subject)),
			Serial:  serialHex(st.Certificate),
			State:   st.State.String(),
			Source:  st.Source,
		}
		if st.Method != 0 {
			rs.Method = st.Method.String()
		}
		if st.State == revocation.Revoked {
			rs.Reason = st.Reason.String()
			rs.RevokedAt = st.RevokedAt.UTC()
		}
		rs.ThisUpdate, rs.NextUpdate = st.ThisUpdate.UTC(), st.NextUpdate.UTC()
		if st.Err != nil {
			rs.Error = st.Err.Error()
		}
		rev.Statuses = append(rev.Statuses, rs)
	}
}

// certificateRequest fills what the server asked of a client certificate:
// read from the wire in TLS 1.2, from crypto/tls's callback in TLS 1.3
// (where the request is encrypted).
func (p *prober) certificateRequest(r *Report, a *attempt) {
	if a.cri == nil && a.rawCertReq == nil {
		return
	}
	cr := &CertificateRequest{AcceptableCAs: []string{}}
	var cas [][]byte
	var algs []uint16
	if a.rawCertReq != nil {
		for _, t := range a.rawCertReq.Types {
			n, ok := certificateTypeNames[t]
			if !ok {
				n = fmt.Sprintf("type(%d)", t)
			}
			cr.CertificateTypes = append(cr.CertificateTypes, n)
		}
		cas, algs = a.rawCertReq.CAs, a.rawCertReq.SigAlgs
	}
	// In TLS 1.2 the wire is the truth: crypto/tls filters the signature
	// algorithms it hands the callback down to those it implements.
	if a.cri != nil && a.rawCertReq == nil {
		cas = a.cri.AcceptableCAs
		algs = nil
		for _, s := range a.cri.SignatureSchemes {
			algs = append(algs, uint16(s))
		}
	}
	cr.rawCAs = cas
	for _, dn := range cas[:min(len(cas), 256)] {
		cr.AcceptableCAs = append(cr.AcceptableCAs, dnString(dn))
	}
	cr.SigAlgCodes = append([]uint16{}, algs...)
	cr.SignatureAlgorithms = []string{}
	for _, s := range algs {
		cr.SignatureAlgorithms = append(cr.SignatureAlgorithms, sigAlgName(s))
	}
	r.CertificateRequest = cr
	if cc := r.ClientCertificate; cc != nil {
		cc.Sent = a.sentCert
		if a.unsuited != nil {
			cc.Unsuitable = a.unsuited.Error()
		}
		cc.MatchesAcceptableCA, cc.MatchedCA = p.matchCA(cas)
	}
}

// matchCA reports whether a certificate of our chain is issued by, or is,
// one of the named CAs; when --cert holds only part of the chain, the chain
// built up to RootCAs counts too.
func (p *prober) matchCA(cas [][]byte) (bool, string) {
	if len(cas) == 0 {
		return true, ""
	}
	ours := parseChain(p.opts.Certificate.Certificate)
	try := func(chain []*x509.Certificate) (bool, string) {
		for _, c := range chain {
			for _, ca := range cas {
				if bytes.Equal(c.RawIssuer, ca) || bytes.Equal(c.RawSubject, ca) {
					return true, dnString(ca)
				}
			}
		}
		return false, ""
	}
	if ok, name := try(ours); ok || len(ours) == 0 || p.opts.RootCAs == nil {
		return ok, name
	}
	inter := x509.NewCertPool()
	for _, c := range ours[1:] {
		inter.AddCert(c)
	}
	chains, _ := ours[0].Verify(x509.VerifyOptions{Roots: p.opts.RootCAs, Intermediates: inter, CurrentTime: p.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	for _, ch := range chains {
		if ok, name := try(ch); ok {
			return ok, name
		}
	}
	return false, ""
}
