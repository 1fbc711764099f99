package certmap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/revocation"
	"github.com/pkid/pkid/store"
)

// Verified is a client certificate chain that passed Verify.
type Verified struct {
	// Leaf is the client's certificate; Chain the verified path from Leaf
	// to its trust anchor (Leaf first).
	Leaf  *x509.Certificate
	Chain []*x509.Certificate
	// Serial (ca.FormatSerial form), Subject and Issuer (RFC 4514) of Leaf.
	Serial, Subject, Issuer string
	// CAID is the pkid CA that issued Leaf, "" for a foreign CA.
	CAID string

	normSubject string   // see normalSubject; "" = not computed
	sum         [32]byte // SHA-256 of Leaf.Raw; zero = not computed
}

// certNames are the strings a bind derives from a certificate: its serial
// (ca.FormatSerial), subject and issuer (RFC 4514), the subject in the
// form regexp rules match (normalSubject) and its hash.
type certNames struct {
	serial, subject, issuer, normSubject string
	sum                                  [32]byte // SHA-256 of the DER (revCache's key)
}

// certNamesMax bounds the memo of certNames.
const certNamesMax = 4096

// names returns the certNames of c, memoised by its DER: a client logs
// in with the same certificate again and again, and the strings depend on
// nothing else.
func (m *Mapper) names(c *x509.Certificate) *certNames {
	m.namesMu.Lock()
	n := m.namesMemo[string(c.Raw)]
	m.namesMu.Unlock()
	if n != nil {
		return n
	}
	n = &certNames{serial: ca.FormatSerial(c.SerialNumber), subject: certSubject(c), issuer: certIssuer(c), normSubject: normalSubject(c.RawSubject), sum: sha256.Sum256(c.Raw)}
	m.namesMu.Lock()
	if m.namesMemo == nil || len(m.namesMemo) >= certNamesMax {
		m.namesMemo = make(map[string]*certNames)
	}
	m.namesMemo[string(c.Raw)] = n
	m.namesMu.Unlock()
	return n
}

// Verify checks a chain as the client presented it (leaf first, any
// intermediates after it) at Config.Now: path validation to a trust
// anchor, clientAuth extended key usage (or none), validity, and
// revocation of the leaf (store for pkid CAs; package revocation for the
// whole chain otherwise). The store's answer for a pkid certificate found
// good is cached (revCache) and trusted only while the store's change-feed
// revision, read at every call, stands still; refusals are never cached.
// The path validation of a chain seen before is reused while every
// certificate of the path is valid and the store lists the same CAs
// (chainCache). A refused certificate gives an *Error; a failure to read
// the store gives a plain error.
func (m *Mapper) Verify(ctx context.Context, chain []*x509.Certificate) (*Verified, error) {
	return m.verify(ctx, chain, false)
}

// VerifyPath is Verify for a path the caller has already validated with
// crypto/x509 (leaf first, trust anchor last), as the LDAP frontend does
// at bind time: it checks that the path ends at one of the Mapper's trust
// anchors instead of verifying the signatures again, then applies every
// other check of Verify (validity, clientAuth, revocation).
func (m *Mapper) VerifyPath(ctx context.Context, path []*x509.Certificate) (*Verified, error) {
	return m.verify(ctx, path, true)
}

func (m *Mapper) verify(ctx context.Context, chain []*x509.Certificate, validated bool) (*Verified, error) {
	if len(chain) == 0 {
		return nil, errors.New("certmap: the client presented no certificate")
	}
	for i, c := range chain {
		if c == nil {
			return nil, fmt.Errorf("certmap: certificate %d of the chain is missing", i)
		}
	}
	leaf := chain[0]
	now := m.now()
	if now.Before(leaf.NotBefore) {
		return nil, newError(leaf, nil, "is not yet valid (notBefore %s)", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return nil, newError(leaf, nil, "has expired (notAfter %s)", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if !ldap.AllowsClientAuth(leaf) {
		return nil, newError(leaf, nil, "lacks clientAuth in extendedKeyUsage; reissue it with the client profile")
	}

	set, err := m.trust(ctx, now)
	if err != nil {
		return nil, err
	}
	path := chain
	if !validated || !set.anchors[string(chain[len(chain)-1].Raw)] {
		key := chainKey(chain)
		if path = m.chains.get(key, set, now); path == nil {
			inter := set.inter
			if len(chain) > 1 {
				inter = set.inter.Clone()
				for _, c := range chain[1:] {
					inter.AddCert(c)
				}
			}
			m.pathChecks.Add(1)
			paths, err := leaf.Verify(x509.VerifyOptions{Roots: set.roots, Intermediates: inter, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if err != nil {
				return nil, verifyError(leaf, err)
			}
			path = paths[0]
			m.chains.put(key, set, path)
		}
	}
	ours := set.ours
	names := m.names(leaf)
	v := &Verified{Leaf: leaf, Chain: path, Serial: names.serial, Subject: names.subject, Issuer: names.issuer, normSubject: names.normSubject, sum: names.sum}
	if len(path) >= 2 {
		if c := ours[string(path[1].Raw)]; c != nil {
			v.CAID = c.ID
		}
	}
	if v.CAID != "" {
		return v, m.checkStore(ctx, v)
	}
	if _, err := m.rev.CheckChain(ctx, path); err != nil {
		var re *revocation.RevokedError
		if errors.As(err, &re) {
			if re.Certificate != nil && re.Certificate != leaf {
				return nil, newError(leaf, err, "was issued by a revoked CA (%s)", err)
			}
			return nil, newError(leaf, err, "is revoked (%s since %s, according to %s)", re.Reason, re.RevokedAt.UTC().Format(time.RFC3339), re.Source)
		}
		var ue *revocation.UnknownError
		if errors.As(err, &ue) {
			return nil, newError(leaf, err, "has an unknown revocation status: %s", err)
		}
		return nil, fmt.Errorf("certmap: revocation check of serial %s: %w", v.Serial, err)
	}
	return v, nil
}

// checkStore reads the leaf's state from the store, the single source of
// truth, or from revCache, which holds only the store's good answers and
// is emptied whenever the store's revision moved: so a revocation by any
// process applies to the next bind.
func (m *Mapper) checkStore(ctx context.Context, v *Verified) error {
	if !m.revOn {
		return m.readStore(ctx, v)
	}
	sum := v.sum
	if sum == ([32]byte{}) {
		sum = sha256.Sum256(v.Leaf.Raw)
	}
	key := revKey{der: sum, serial: v.Serial, caID: v.CAID}
	epoch, hit, err := m.revs.lookup(ctx, m.cfg.Store, key, m.now())
	if err != nil {
		return fmt.Errorf("certmap: read the store's revision: %w", err)
	}
	if hit {
		return nil
	}
	if err := m.readStore(ctx, v); err != nil {
		return err
	}
	m.revs.put(key, epoch, v.Leaf.NotAfter)
	return nil
}

// readStore reads the leaf's row from the store and refuses a
// certificate the store does not hold as issued by v.CAID with the same
// DER, or holds as revoked.
func (m *Mapper) readStore(ctx context.Context, v *Verified) error {
	c, err := m.cfg.Store.Certificate(ctx, v.Serial)
	if errors.Is(err, store.ErrNotFound) {
		return newError(v.Leaf, err, "was signed by pkid CA %q but is not in its store (forged or from a restored backup); refused", v.CAID)
	}
	if err != nil {
		return fmt.Errorf("certmap: read certificate %s: %w", v.Serial, err)
	}
	if c.CAID != v.CAID || (c.DER != nil && !bytes.Equal(c.DER, v.Leaf.Raw)) {
		return newError(v.Leaf, nil, "does not match the certificate pkid stored under that serial; refused")
	}
	if c.Status == store.StatusRevoked {
		return newError(v.Leaf, nil, "is revoked (%s since %s)", ca.ReasonName(c.Reason), c.RevokedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func verifyError(leaf *x509.Certificate, err error) *Error {
	selfSigned := bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
	var ua x509.UnknownAuthorityError
	switch {
	case selfSigned:
		return newError(leaf, err, "is a self-signed certificate, not issued by a trusted CA")
	case errors.As(err, &ua):
		return newError(leaf, err, "was not issued by a trusted CA (issuer %s)", subjectText(certIssuer(leaf)))
	}
	var ie x509.CertificateInvalidError
	if errors.As(err, &ie) {
		switch {
		case ie.Reason == x509.IncompatibleUsage:
			return newError(leaf, err, "has a chain whose CA certificates do not allow clientAuth in extendedKeyUsage")
		case ie.Reason == x509.Expired && ie.Cert != nil && ie.Cert != leaf:
			return newError(leaf, err, "has an issuing CA outside its validity period: %s (notBefore %s, notAfter %s)",
				subjectText(certSubject(ie.Cert)), ie.Cert.NotBefore.UTC().Format(time.RFC3339), ie.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return newError(leaf, err, "failed verification: %s", err)
}

// parseCA parses a CA certificate from the store, once per distinct DER:
// the list of CAs is read at every bind, the parsing need not be.
func (m *Mapper) parseCA(der []byte) (*x509.Certificate, error) {
	if c, ok := m.parsed.Load(string(der)); ok {
		return c.(*x509.Certificate), nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	m.parsed.Store(string(der), c)
	return c, nil
}

// caMaxAge bounds how late a new pkid CA is trusted: the list of CAs is
// reread at most this long after the last read. Certificates' revocation
// state is cached by revCache under its own rules.
const caMaxAge = time.Second

// trustSet is what one read of the store's CAs gives: the pools to verify
// against, pkid's CAs by certificate DER, and the anchors a path that
// was validated elsewhere may end at. It is built once per read (see
// caMaxAge), not at every bind.
type trustSet struct {
	roots, inter *x509.CertPool
	ours         map[string]*store.CA // by certificate DER
	anchors      map[string]bool      // DER a validated path may end at
	sum          [32]byte             // caSum of the CAs it was built from
}

// caSum identifies a list of CAs by what trust depends on: each CA's ID,
// parent and certificate.
func caSum(cas []*store.CA) [32]byte {
	h := sha256.New()
	var n [4]byte
	for _, c := range cas {
		for _, b := range [][]byte{[]byte(c.ID), []byte(c.ParentID), c.CertDER} {
			binary.BigEndian.PutUint32(n[:], uint32(len(b)))
			h.Write(n[:])
			h.Write(b)
		}
	}
	var s [32]byte
	h.Sum(s[:0])
	return s
}

func (m *Mapper) trust(ctx context.Context, now time.Time) (*trustSet, error) {
	m.casMu.Lock()
	defer m.casMu.Unlock()
	if m.trustSet != nil && now.Sub(m.casAt) >= 0 && now.Sub(m.casAt) < caMaxAge {
		return m.trustSet, nil
	}
	cas, err := m.cfg.Store.CAs(ctx)
	if err != nil {
		return nil, fmt.Errorf("certmap: read CAs: %w", err)
	}
	// An unchanged list of CAs keeps its set, and with it the paths the
	// chain cache verified against it; any change makes a new set.
	sum := caSum(cas)
	if m.trustSet != nil && m.trustSet.sum == sum {
		m.casAt = now
		return m.trustSet, nil
	}
	set := &trustSet{sum: sum, roots: x509.NewCertPool(), inter: x509.NewCertPool(), ours: map[string]*store.CA{}, anchors: map[string]bool{}}
	for _, c := range cas {
		cert, err := m.parseCA(c.CertDER)
		if err != nil {
			return nil, fmt.Errorf("certmap: CA %s: %w", c.ID, err)
		}
		set.ours[string(c.CertDER)] = c
		// Every pkid CA is trusted: a validated path may end at the
		// issuing CA when the caller's pool holds it as a root.
		set.anchors[string(c.CertDER)] = true
		if c.ParentID == "" && bytes.Equal(cert.RawIssuer, cert.RawSubject) {
			set.roots.AddCert(cert)
		} else {
			set.inter.AddCert(cert)
		}
	}
	for _, r := range m.cfg.Roots {
		set.roots.AddCert(r)
		set.anchors[string(r.Raw)] = true
	}
	for _, c := range m.cfg.Intermediates {
		set.inter.AddCert(c)
	}
	m.trustSet, m.casAt = set, now
	return set, nil
}
