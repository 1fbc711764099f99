package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/ocsp"
	"github.com/pkid/pkid/store"
)

// renewalCheck is how often responder certificates are checked for
// renewal; they live ca.Profiles["ocsp-signing"].DefaultDays and are
// renewed when a third of that is left, so hourly is plenty.
const renewalCheck = time.Hour

// lookup answers the OCSP responder's status questions from the store.
func (s *Server) lookup(ctx context.Context, iss *ocsp.Issuer, serial *big.Int) (ocsp.Status, error) {
	if serial.Sign() < 0 {
		return ocsp.Status{Status: ocsp.Unknown}, nil
	}
	c, err := s.st.Certificate(ctx, ca.FormatSerial(serial))
	if errors.Is(err, store.ErrNotFound) {
		return ocsp.Status{Status: ocsp.Unknown}, nil
	}
	if err != nil {
		return ocsp.Status{}, fmt.Errorf("look up %s: %w", ca.FormatSerial(serial), err)
	}
	return certStatus(c, iss.ID, serial), nil
}

// certStatus is what the responder asserts about a stored certificate
// when asked about it as issued by caID.
func certStatus(c *store.Certificate, caID string, serial *big.Int) ocsp.Status {
	switch {
	case c.CAID != caID:
		return ocsp.Status{Serial: serial, Status: ocsp.Unknown}
	case c.Status == store.StatusRevoked:
		return ocsp.Status{Serial: serial, Status: ocsp.Revoked, RevokedAt: c.RevokedAt, Reason: c.Reason}
	}
	return ocsp.Status{Serial: serial, Status: ocsp.Good}
}

// responderFiles are where a CA's delegated responder certificate and key
// live.
func (s *Server) responderFiles(caID string) (cert, key string) {
	d := filepath.Join(s.cfg.Dir, ResponderDirName)
	return filepath.Join(d, caID+".pem"), filepath.Join(d, caID+".key.pem")
}

// responderIssuer returns the ocsp.Issuer of a CA: its certificate and a
// delegated responder certificate, read from Dir/ocsp or issued (and
// written there) when missing, not issued by the CA's current key, or due
// for renewal (ocsp.NeedsRenewal).
func (s *Server) responderIssuer(ctx context.Context, a *ca.Authority) (*ocsp.Issuer, bool, error) {
	certFile, keyFile := s.responderFiles(a.CA.ID)
	if cert, key, err := readResponder(certFile, keyFile); err == nil &&
		cert.CheckSignatureFrom(a.Cert) == nil && !ocsp.NeedsRenewal(cert, s.now()) {
		return &ocsp.Issuer{ID: a.CA.ID, Cert: a.Cert, ResponderCert: cert, Signer: key}, false, nil
	}
	subject := "CN=OCSP Responder " + a.CA.ID
	if cn := a.Cert.Subject.CommonName; cn != "" {
		subject = "CN=" + escapeDNValue(cn+" OCSP Responder")
	}
	iss, err := s.svc.Issue(ctx, ca.Request{Profile: "ocsp-signing", Subject: subject, KeyType: s.cfg.KeyType, CAID: a.CA.ID})
	if err != nil {
		return nil, false, fmt.Errorf("issue the OCSP responder certificate of CA %q: %w", a.CA.ID, err)
	}
	keyPEM, err := iss.KeyPEM()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", filepath.Dir(certFile), err)
	}
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return nil, false, err
	}
	if err := writeFileAtomic(certFile, iss.CertPEM(), 0o644); err != nil {
		return nil, false, err
	}
	s.log.Info("issued OCSP responder certificate", "ca", a.CA.ID, "serial", iss.Serial, "not_after", iss.Certificate.NotAfter)
	return &ocsp.Issuer{ID: a.CA.ID, Cert: a.Cert, ResponderCert: iss.Certificate, Signer: iss.Key}, true, nil
}

// readResponder reads a responder certificate and its key.
func readResponder(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	cert, err := ca.ParseCertificate(data)
	if err != nil {
		return nil, nil, err
	}
	kdata, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	key, err := ca.ParsePrivateKey(kdata, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not hold the key of %s", keyFile, certFile)
	}
	return cert, key, nil
}

// escapeDNValue escapes an RFC 4514 attribute value.
func escapeDNValue(v string) string {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' || c == '=':
			out = append(out, '\\', c)
		case (i == 0 && (c == ' ' || c == '#')) || (i == len(v)-1 && c == ' '):
			out = append(out, '\\', c)
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// renewResponders re-issues responder certificates that are due, hourly,
// until ctx ends.
func (s *Server) renewResponders(ctx context.Context) {
	t := time.NewTicker(renewalCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.checkResponders(ctx)
	}
}

// checkResponders renews every responder certificate that is due.
func (s *Server) checkResponders(ctx context.Context) {
	for _, c := range s.caList() {
		s.mu.Lock()
		iss := c.issuer
		s.mu.Unlock()
		if !c.signs || iss != nil && !ocsp.NeedsRenewal(iss.ResponderCert, s.now()) {
			continue
		}
		a, err := s.svc.Authority(ctx, c.id)
		if err != nil {
			s.log.Error("renew OCSP responder", "ca", c.id, "err", err)
			continue
		}
		if err := s.serveOCSP(ctx, c, a); err != nil {
			s.log.Error("renew OCSP responder", "ca", c.id, "err", err)
		}
	}
}

// serveOCSP sets up (or renews) the responder certificate of a CA and
// hands it to the responder.
func (s *Server) serveOCSP(ctx context.Context, c *caState, a *ca.Authority) error {
	iss, _, err := s.responderIssuer(ctx, a)
	if err != nil {
		return err
	}
	if err := s.resp.SetIssuer(iss); err != nil {
		return err
	}
	s.mu.Lock()
	c.issuer = iss
	s.mu.Unlock()
	return nil
}

// prepareOCSP pre-signs the responses of every certificate of a CA.
func (s *Server) prepareOCSP(ctx context.Context, caID string) error {
	return s.resp.Prepare(ctx, caID, func(ctx context.Context) ([]ocsp.Status, error) {
		certs, err := s.st.Certificates(ctx, store.Query{CAID: caID})
		if err != nil {
			return nil, err
		}
		out := make([]ocsp.Status, 0, len(certs))
		for _, c := range certs {
			sn, ok := new(big.Int).SetString(c.Serial, 16)
			if !ok {
				continue
			}
			out = append(out, certStatus(c, caID, sn))
		}
		return out, nil
	})
}
