package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/store"
)

// Request asks for one certificate.
type Request struct {
	// Profile is one of Profiles: server, client, client-server,
	// ocsp-signing, sub-ca.
	Profile string
	// Subject is the DN (RFC 4514 or OpenSSL slash form). When empty, the
	// CSR's subject is used.
	Subject string
	// SANs in OpenSSL's spelling (see ParseSANs). When empty, the CSR's
	// SANs are used; for the server profiles a CN that looks like a host
	// name becomes the DNS SAN.
	SANs string
	// KeyType of the key pkid generates; ignored with CSR.
	KeyType KeyType
	// CSR (PEM or DER) carries the requester's key; pkid then returns no key.
	CSR []byte
	// Days of validity, or NotAfter; neither = the profile's default,
	// shortened to the issuer's own expiry. Explicit values beyond the
	// issuer's expiry are refused.
	Days     int
	NotAfter time.Time
	// CAID names the issuing CA; "" = the default CA (for sub-ca: the
	// default CA if it may issue CAs, else its parent).
	CAID string
}

// Issued is a stored certificate with what its holder needs.
type Issued struct {
	Certificate *x509.Certificate
	DER         []byte
	Serial      string // FormatSerial form
	CAID        string
	// Key is the private key pkid generated; nil when the request had a CSR.
	Key crypto.Signer
	// Chain is the issuer's chain: the issuing CA first, up to the root.
	Chain []*x509.Certificate
}

// CertPEM is the certificate as PEM.
func (i *Issued) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.DER})
}

// ChainPEM is the certificate followed by its issuing chain.
func (i *Issued) ChainPEM() []byte { return append(i.CertPEM(), certsPEM(i.Chain)...) }

// KeyPEM is the generated key as unencrypted PKCS#8 PEM (nil with a CSR).
func (i *Issued) KeyPEM() ([]byte, error) {
	if i.Key == nil {
		return nil, nil
	}
	return MarshalPrivateKey(i.Key, nil, nil)
}

// maxIssueAttempts bounds retries after a serial collision.
const maxIssueAttempts = 4

// Issue makes, lints and durably stores one certificate. It returns once
// the certificate is committed (concurrent calls share one commit).
func (s *Service) Issue(ctx context.Context, req Request) (*Issued, error) {
	out, err := s.IssueBatch(ctx, []Request{req})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// IssueBatch issues several certificates and stores them in one
// transaction: all are issued or none is. A request that fails validation
// fails the batch, naming its index.
func (s *Service) IssueBatch(ctx context.Context, reqs []Request) ([]*Issued, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	fail := func(i int, err error) error {
		if len(reqs) > 1 {
			return fmt.Errorf("request %d: %w", i+1, err)
		}
		return err
	}
	c, err := s.committer()
	if err != nil {
		return nil, err
	}
	// While this call is in flight the writer may wait for its
	// certificates to join a batch.
	c.enter()
	defer c.leave()
	preps := make([]*prepared, len(reqs))
	if err := s.parallel(len(reqs), func(i int) (err error) {
		if preps[i], err = s.prepare(ctx, &reqs[i]); err != nil {
			return fail(i, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var recs []*store.Certificate
	for attempt := 1; ; attempt++ {
		recs = make([]*store.Certificate, len(preps))
		if err := s.parallel(len(preps), func(i int) error {
			if err := preps[i].sign(s); err != nil {
				return fail(i, err)
			}
			recs[i] = preps[i].record(s.now())
			return nil
		}); err != nil {
			return nil, err
		}
		err := c.submit(recs)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrExists) || attempt == maxIssueAttempts {
			return nil, fmt.Errorf("store certificate: %w", err)
		}
	}
	out := make([]*Issued, len(preps))
	for i, p := range preps {
		out[i] = &Issued{Certificate: p.cert, DER: p.cert.Raw, Serial: recs[i].Serial,
			CAID: p.auth.CA.ID, Key: p.key, Chain: p.auth.Chain}
	}
	return out, nil
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines (inline for a
// single request) and returns the error of the lowest failing index.
func (s *Service) parallel(n int, fn func(i int) error) error {
	if n == 1 {
		return fn(0)
	}
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(n, runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = fn(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// prepared is a validated request, ready to sign (again, after a serial
// collision).
type prepared struct {
	auth    *Authority
	profile *Profile
	spec    certSpec
	key     crypto.Signer
	subject string
	cert    *x509.Certificate
}

func (s *Service) prepare(ctx context.Context, req *Request) (*prepared, error) {
	prof, err := ParseProfile(req.Profile)
	if err != nil {
		return nil, err
	}
	p := &prepared{profile: prof}

	// Key: the requester's (CSR) or a new one.
	var csr *x509.CertificateRequest
	var pub crypto.PublicKey
	var kt KeyType
	if len(req.CSR) > 0 {
		if req.KeyType != "" {
			return nil, errors.New("give either a CSR or a key type, not both: the CSR already carries the key")
		}
		if csr, err = ParseCSR(req.CSR); err != nil {
			return nil, err
		}
		pub = csr.PublicKey
		kt, _ = KeyTypeOf(pub)
	} else {
		if kt, err = ParseKeyType(string(req.KeyType)); err != nil {
			return nil, err
		}
	}

	// Subject.
	var rdns pkix.RDNSequence
	switch {
	case req.Subject != "":
		if rdns, err = dn.Parse(req.Subject); err != nil {
			return nil, fmt.Errorf("subject: %w", err)
		}
	case csr != nil:
		if rdns, err = dn.FromDER(csr.RawSubject); err == nil {
			rdns, err = dn.Parse(dn.String(rdns)) // apply the same checks
		}
		if err != nil {
			return nil, fmt.Errorf("the CSR's subject: %w", err)
		}
	}
	if len(rdns) == 0 {
		return nil, errors.New("no subject: give one like \"CN=www.example.org,O=Example\"")
	}
	if p.spec.subject, err = dn.Marshal(rdns); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	p.subject = dn.String(rdns)

	// Subject alternative names.
	sans, err := ParseSANs(req.SANs)
	if err != nil {
		return nil, err
	}
	if req.SANs == "" && csr != nil {
		if sans, err = ParseSANs(csrSANs(csr).String()); err != nil {
			return nil, fmt.Errorf("the CSR's SANs: %w", err)
		}
	}
	if sans.Len() == 0 && prof.NeedsSAN {
		cn := commonName(rdns)
		switch {
		case net.ParseIP(cn) != nil:
			sans, _ = ParseSANs("IP:" + cn)
		case looksLikeHostname(cn):
			sans, _ = ParseSANs("DNS:" + cn)
		default:
			return nil, fmt.Errorf("the %s profile needs a subject alternative name: TLS clients match only SANs; add --san DNS:host.example.org (or IP:192.0.2.1)", prof.Name)
		}
	}
	if prof.IsCA && sans.Len() > 0 {
		return nil, errors.New("the sub-ca profile takes no SANs")
	}

	// Issuer.
	caID := req.CAID
	if caID == "" {
		if caID, err = s.DefaultCA(ctx); err != nil {
			return nil, err
		}
		if prof.IsCA {
			a, err := s.Authority(ctx, caID)
			if err != nil {
				return nil, err
			}
			if a.Cert.MaxPathLenZero && a.CA.ParentID != "" {
				caID = a.CA.ParentID
			}
		}
	}
	if p.auth, err = s.Authority(ctx, caID); err != nil {
		return nil, err
	}
	issuer := p.auth.Cert
	if prof.IsCA && issuer.MaxPathLen == 0 && issuer.MaxPathLenZero {
		return nil, fmt.Errorf("CA %q has pathLen 0 and cannot issue CA certificates; issue sub-CAs from the root (--ca root)", caID)
	}

	// Validity.
	now := s.now().UTC().Truncate(time.Second)
	notBefore := now.Add(-time.Minute)
	if notBefore.Before(issuer.NotBefore) {
		notBefore = issuer.NotBefore
	}
	var notAfter time.Time
	switch {
	case req.Days != 0 && !req.NotAfter.IsZero():
		return nil, errors.New("give either days or a not-after date, not both")
	case req.Days < 0:
		return nil, fmt.Errorf("days must be positive, not %d", req.Days)
	case req.Days > 0:
		notAfter = now.AddDate(0, 0, req.Days)
	case !req.NotAfter.IsZero():
		notAfter = req.NotAfter.UTC().Truncate(time.Second)
	default:
		notAfter = now.AddDate(0, 0, prof.DefaultDays)
		if notAfter.After(issuer.NotAfter) {
			notAfter = issuer.NotAfter
		}
	}
	if notAfter.After(issuer.NotAfter) {
		return nil, fmt.Errorf("not-after %s is beyond the expiry of CA %q (%s); choose a date on or before it",
			notAfter.Format(time.RFC3339), caID, issuer.NotAfter.UTC().Format(time.RFC3339))
	}
	if !notAfter.After(now) {
		return nil, fmt.Errorf("not-after %s is not in the future", notAfter.Format(time.RFC3339))
	}

	if csr == nil {
		if p.key, err = GenerateKey(kt, s.opts.Rand); err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		pub = p.key.Public()
	}
	p.spec.pub = pub
	p.spec.notBefore, p.spec.notAfter, p.spec.now = notBefore, notAfter, now
	p.spec.keyUsage = prof.keyUsage(kt)
	p.spec.extKeyUse = prof.ExtKeyUsage
	p.spec.isCA = prof.IsCA
	p.spec.sans = sans
	p.spec.ocspNoChk = prof.OCSPNoCheck
	rec := p.auth.CA
	p.spec.url, p.spec.ldapURL, p.spec.issuerID, p.spec.issuerDN = rec.URL, rec.LDAPURL, rec.ID, rec.Subject
	return p, nil
}

func (p *prepared) sign(s *Service) error {
	serial, err := NewSerial(s.opts.Rand)
	if err != nil {
		return err
	}
	der, err := sign(&p.spec, serial, p.auth.Cert, p.auth.Signer, s.opts.Rand)
	if err != nil {
		return err
	}
	p.cert, err = x509.ParseCertificate(der)
	return err
}

func (p *prepared) record(now time.Time) *store.Certificate {
	return &store.Certificate{
		Serial: FormatSerial(p.cert.SerialNumber), CAID: p.auth.CA.ID, Subject: p.subject, Profile: p.profile.Name,
		NotBefore: p.cert.NotBefore, NotAfter: p.cert.NotAfter, DER: p.cert.Raw, IssuedAt: now, Status: store.StatusValid,
	}
}

func commonName(rdns pkix.RDNSequence) string {
	for i := len(rdns) - 1; i >= 0; i-- {
		for _, atv := range rdns[i] {
			if dn.TypeName(atv.Type) == "CN" {
				v, _ := atv.Value.(string)
				return v
			}
		}
	}
	return ""
}

func csrSANs(csr *x509.CertificateRequest) *SANs {
	s := &SANs{DNS: csr.DNSNames, IP: csr.IPAddresses, Email: csr.EmailAddresses}
	s.URI = append([]*url.URL(nil), csr.URIs...)
	return s
}
