package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Extension OIDs of RFC 5280 §5.2 (CRL) and §5.3 (CRL entry).
var (
	oidAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidIssuerAltName     = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDP         = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidFreshestCRL       = asn1.ObjectIdentifier{2, 5, 29, 46}
	oidAuthorityInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidCRLDistPoints     = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidReasonCode        = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidHoldInstruction   = asn1.ObjectIdentifier{2, 5, 29, 23}
	oidInvalidityDate    = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidCertificateIssuer = asn1.ObjectIdentifier{2, 5, 29, 29}
	oidExpiredCertsOnCRL = asn1.ObjectIdentifier{2, 5, 29, 60}
)

// crlInfo is a parsed CRL with the RFC 5280 extensions crypto/x509 leaves
// raw, indexed for lookup.
type crlInfo struct {
	rl       *x509.RevocationList
	source   string   // "the CRL at URL" or "a CRL supplied in Config.CRLs"
	number   *big.Int // CRL number (mandatory)
	base     *big.Int // BaseCRLNumber: non-nil for a delta CRL
	idp      *issuingDP
	idpRaw   []byte
	freshest []distributionPoint
	// entries maps the serial's bytes to its entries (several issuers may
	// share a serial on an indirect CRL).
	entries map[string][]crlEntry

	// verifiedBy remembers the public keys (SPKI DER) whose signature on
	// this CRL checked out, so a cached CRL is hashed once, not per check.
	mu         sync.Mutex
	verifiedBy map[string]bool
}

type crlEntry struct {
	issuer    []byte // DER Name of the certificate issuer
	reason    Reason
	revokedAt time.Time
}

// parseCRL parses DER (or PEM) CRL bytes.
func parseCRL(der []byte, source string) (*crlInfo, error) {
	if block, _ := pem.Decode(der); block != nil && block.Type == "X509 CRL" {
		der = block.Bytes
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("parse CRL: %w", err)
	}
	return newCRLInfo(rl, source)
}

// newCRLInfo checks the CRL's extensions (RFC 5280 §5.2: unknown critical
// extensions make the CRL unusable; the CRL number is mandatory and
// non-critical) and indexes its entries.
func newCRLInfo(rl *x509.RevocationList, source string) (*crlInfo, error) {
	ci := &crlInfo{rl: rl, source: source}
	seen := map[string]bool{}
	for _, ext := range rl.Extensions {
		id := ext.Id.String()
		if seen[id] {
			return nil, fmt.Errorf("CRL has duplicate extension %s", id)
		}
		seen[id] = true
		switch {
		case ext.Id.Equal(oidCRLNumber):
			if ext.Critical {
				return nil, errors.New("CRL number extension is marked critical (RFC 5280 §5.2.3 requires non-critical)")
			}
			ci.number = rl.Number
		case ext.Id.Equal(oidDeltaCRLIndicator):
			if !ext.Critical {
				return nil, errors.New("delta CRL indicator is not critical (RFC 5280 §5.2.4)")
			}
			n := new(big.Int)
			v := cryptobyte.String(ext.Value)
			if !v.ReadASN1Integer(n) || !v.Empty() || n.Sign() < 0 {
				return nil, errors.New("malformed delta CRL indicator")
			}
			ci.base = n
		case ext.Id.Equal(oidIssuingDP):
			idp, err := parseIssuingDP(ext.Value)
			if err != nil {
				return nil, err
			}
			ci.idp, ci.idpRaw = idp, ext.Value
		case ext.Id.Equal(oidFreshestCRL):
			if ci.base != nil || seen[oidDeltaCRLIndicator.String()] {
				return nil, errors.New("delta CRL carries a freshest CRL extension (RFC 5280 §5.2.6)")
			}
			dps, err := parseDistributionPoints(ext.Value)
			if err != nil {
				return nil, fmt.Errorf("freshest CRL extension: %w", err)
			}
			ci.freshest = dps
		case ext.Id.Equal(oidAuthorityKeyID), ext.Id.Equal(oidIssuerAltName),
			ext.Id.Equal(oidAuthorityInfo), ext.Id.Equal(oidExpiredCertsOnCRL):
		default:
			if ext.Critical {
				return nil, fmt.Errorf("CRL has unknown critical extension %s", id)
			}
		}
	}
	if ci.number == nil {
		return nil, errors.New("CRL has no CRL number (RFC 5280 §5.2.3 makes it mandatory)")
	}
	indirect := ci.idp != nil && ci.idp.indirect
	issuer := rl.RawIssuer
	ci.entries = make(map[string][]crlEntry, len(rl.RevokedCertificateEntries))
	for _, e := range rl.RevokedCertificateEntries {
		ent := crlEntry{reason: Reason(e.ReasonCode), revokedAt: e.RevocationTime}
		for _, ext := range e.Extensions {
			switch {
			case ext.Id.Equal(oidReasonCode), ext.Id.Equal(oidHoldInstruction), ext.Id.Equal(oidInvalidityDate):
			case ext.Id.Equal(oidCertificateIssuer):
				if !indirect {
					return nil, errors.New("CRL entry has a certificate issuer extension but the CRL is not indirect")
				}
				in := cryptobyte.String(ext.Value)
				var seq cryptobyte.String
				if !in.ReadASN1(&seq, 0x30) {
					return nil, errors.New("malformed certificate issuer entry extension")
				}
				names, err := parseGeneralNames(seq)
				if err != nil {
					return nil, fmt.Errorf("certificate issuer entry extension: %w", err)
				}
				issuer = nil
				for _, n := range names {
					if n.tag == tagDirectoryName {
						issuer = n.value
						break
					}
				}
				if issuer == nil {
					return nil, errors.New("certificate issuer entry extension has no directory name")
				}
			default:
				if ext.Critical {
					return nil, fmt.Errorf("CRL entry for serial %s has unknown critical extension %s", serialHex(e.SerialNumber), ext.Id)
				}
			}
		}
		ent.issuer = issuer
		k := string(e.SerialNumber.Bytes())
		if e.SerialNumber.Sign() < 0 {
			k = "-" + k
		}
		ci.entries[k] = append(ci.entries[k], ent)
	}
	return ci, nil
}

func serialKey(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + string(n.Bytes())
	}
	return string(n.Bytes())
}

// lookup finds the entry for a certificate of the given issuer.
func (ci *crlInfo) lookup(serial *big.Int, issuer []byte) (crlEntry, bool) {
	for _, e := range ci.entries[serialKey(serial)] {
		if nameEqual(e.issuer, issuer) {
			return e, true
		}
	}
	return crlEntry{}, false
}

func (ci *crlInfo) describe() string { return ci.source }

// crlCheck runs RFC 5280 §6.3.3 for chain[i].
func (c *Checker) crlCheck(ctx context.Context, chain []*x509.Certificate, i, depth int) (Status, error) {
	cert := chain[i]
	now := c.now()
	dps, err := certDistributionPoints(cert, oidCRLDistPoints)
	if err != nil {
		return Status{}, fmt.Errorf("CRL distribution points of the certificate: %w", err)
	}
	implicit := len(dps) == 0
	if implicit {
		dps = []distributionPoint{{reasons: allReasons}}
	}
	v := &crlValidation{c: c, ctx: ctx, chain: chain, i: i, depth: depth, now: now}
	urls := 0
	for _, dp := range dps {
		v.dp, v.implicit = dp, implicit
		// Supplied CRLs first: they cost nothing.
		for _, ci := range c.localCRLs() {
			if ci.base == nil {
				if done := v.consider(ci, false); done {
					return v.result()
				}
			}
		}
		for _, u := range dp.uris() {
			// Once this point's reasons are covered, its other URLs
			// (usually the same CRL elsewhere) add nothing.
			if dp.reasons&^v.reasons == 0 {
				break
			}
			if urls++; urls > maxURLs {
				v.errs = append(v.errs, fmt.Errorf("the certificate lists more than %d CRL URLs; the rest were not tried", maxURLs))
				break
			}
			ci, err := c.fetchCRL(ctx, u)
			if err != nil {
				v.errs = append(v.errs, &SourceError{"the CRL at " + u, err})
				continue
			}
			if done := v.consider(ci, true); done {
				return v.result()
			}
		}
		if v.reasons == allReasons {
			break
		}
	}
	return v.result()
}

// crlValidation is the state of RFC 5280 §6.3.2: reasons_mask and
// cert_status, plus the errors met along the way.
type crlValidation struct {
	c        *Checker
	ctx      context.Context
	chain    []*x509.Certificate
	i, depth int
	now      time.Time

	dp       distributionPoint
	implicit bool

	reasons reasonMask
	revoked *Status
	good    *Status // the last CRL that contributed reasons
	errs    []error
	tried   bool
}

func (v *crlValidation) result() (Status, error) {
	cert := v.chain[v.i]
	if v.revoked != nil {
		return *v.revoked, nil
	}
	if v.reasons == allReasons {
		return *v.good, nil
	}
	if !v.tried && len(v.errs) == 0 {
		if v.implicit {
			return Status{}, &SourceError{"CRL", ErrNoSource}
		}
		return Status{}, crlErrors{fmt.Errorf("no CRL for the certificate's distribution points (%s) could be fetched or was supplied: %w", v.dpNames(), ErrNoSource)}
	}
	if v.reasons != 0 {
		v.errs = append(v.errs, fmt.Errorf("the valid CRLs found cover only some revocation reasons (%#x of %#x)", v.reasons, allReasons))
	}
	if len(v.errs) == 0 {
		v.errs = append(v.errs, fmt.Errorf("no valid CRL issued by %s covers the certificate", cert.Issuer))
	}
	return Status{}, crlErrors(v.errs)
}

// crlErrors lists why no CRL settled the status; check flattens it so
// that SoftFail sees each cause on its own.
type crlErrors []error

func (e crlErrors) Error() string   { return errors.Join(e...).Error() }
func (e crlErrors) Unwrap() []error { return e }

// dpNames lists the certificate's distribution point names for messages.
func (v *crlValidation) dpNames() string {
	dps, _ := certDistributionPoints(v.chain[v.i], oidCRLDistPoints)
	var names []string
	for _, dp := range dps {
		for _, n := range dp.name.resolve(v.chain[v.i].RawIssuer) {
			names = append(names, n.String())
		}
		for _, n := range dp.crlIssuer {
			names = append(names, "cRLIssuer "+n.String())
		}
	}
	return strings.Join(names, ", ")
}

// consider applies one complete CRL; done reports that the status is
// settled (revoked, or every reason covered).
func (v *crlValidation) consider(ci *crlInfo, fetched bool) (done bool) {
	cert, issuer := v.chain[v.i], v.chain[v.i+1]
	fail := func(err error) bool {
		v.errs = append(v.errs, &SourceError{ci.describe(), err})
		return false
	}
	if ci.base != nil {
		return fail(errors.New("it is a delta CRL and the complete CRL it updates is not available"))
	}
	idp := ci.idp
	// (b)(1) issuer.
	if len(v.dp.crlIssuer) > 0 {
		if !anyNameMatches([]generalName{{tag: tagDirectoryName, value: ci.rl.RawIssuer}}, v.dp.crlIssuer) {
			if fetched {
				return fail(fmt.Errorf("issued by %s, not by the distribution point's cRLIssuer", ci.rl.Issuer))
			}
			return false
		}
		if idp == nil || !idp.indirect {
			return fail(errors.New("the distribution point names a cRLIssuer but the CRL is not marked indirect"))
		}
	} else if !nameEqual(ci.rl.RawIssuer, cert.RawIssuer) {
		if fetched {
			return fail(fmt.Errorf("issued by %s, not by the certificate's issuer %s", ci.rl.Issuer, cert.Issuer))
		}
		return false
	}
	v.tried = true
	// (b)(2) scope.
	if idp != nil {
		if idp.name != nil {
			idpNames := idp.name.resolve(ci.rl.RawIssuer)
			var dpNames []generalName
			switch {
			case v.dp.name != nil:
				base := cert.RawIssuer
				for _, n := range v.dp.crlIssuer {
					if n.tag == tagDirectoryName {
						base = n.value
						break
					}
				}
				dpNames = v.dp.name.resolve(base)
			case len(v.dp.crlIssuer) > 0:
				dpNames = v.dp.crlIssuer
			default:
				dpNames = []generalName{{tag: tagDirectoryName, value: cert.RawIssuer}}
			}
			if !anyNameMatches(idpNames, dpNames) {
				return fail(errors.New("its issuing distribution point does not match the certificate's CRL distribution point"))
			}
		}
		isCA := cert.BasicConstraintsValid && cert.IsCA
		switch {
		case idp.onlyUser && isCA:
			return fail(errors.New("it only covers end-entity certificates (onlyContainsUserCerts) and the certificate is a CA"))
		case idp.onlyCA && !isCA:
			return fail(errors.New("it only covers CA certificates (onlyContainsCACerts) and the certificate is not a CA"))
		case idp.onlyAttrCA:
			return fail(errors.New("it only covers attribute certificates (onlyContainsAttributeCerts)"))
		}
	}
	// (c), (d) reasons.
	interim := v.dp.reasons
	if idp != nil {
		interim &= idp.onlySomeReasons
	}
	if interim&^v.reasons == 0 {
		return false
	}
	// (f) the CRL issuer and the signature.
	signer, err := v.c.crlSigner(v.ctx, ci, v.chain, v.i, v.depth)
	if err != nil {
		return fail(err)
	}
	_ = issuer
	// (g) delta CRL, (a) freshness.
	var delta *crlInfo
	if !v.c.cfg.DisableDeltaCRLs {
		var derrs []error
		delta, derrs = v.c.findDelta(v.ctx, ci, cert, signer, v.now)
		if delta == nil {
			v.errs = append(v.errs, derrs...)
		}
	}
	if delta == nil {
		if err := v.c.fresh(ci, v.now); err != nil {
			return fail(err)
		}
	}
	// (i), (j) status.
	st := Status{
		Certificate: cert, Method: MethodCRL, Source: ci.describe(),
		ThisUpdate: ci.rl.ThisUpdate, NextUpdate: ci.rl.NextUpdate,
	}
	removed := false
	if delta != nil {
		st.ThisUpdate, st.NextUpdate = delta.rl.ThisUpdate, delta.rl.NextUpdate
		if e, ok := delta.lookup(cert.SerialNumber, cert.RawIssuer); ok {
			if e.reason == RemoveFromCRL {
				removed = true
			} else {
				st.State, st.Reason, st.RevokedAt, st.Source = Revoked, e.reason, e.revokedAt, delta.describe()
				v.revoked = &st
				return true
			}
		}
	}
	if !removed {
		if e, ok := ci.lookup(cert.SerialNumber, cert.RawIssuer); ok && e.reason != RemoveFromCRL {
			st.State, st.Reason, st.RevokedAt = Revoked, e.reason, e.revokedAt
			v.revoked = &st
			return true
		}
	}
	// (k)
	v.reasons |= interim
	st.State = Good
	if delta != nil {
		st.Source = ci.describe() + " and the delta " + strings.TrimPrefix(delta.describe(), "the ")
	}
	v.good = &st
	return v.reasons == allReasons
}

// fresh checks thisUpdate and nextUpdate against now, allowing clock skew.
func (c *Checker) fresh(ci *crlInfo, now time.Time) error {
	skew := c.skew()
	if ci.rl.ThisUpdate.After(now.Add(skew)) {
		return fmt.Errorf("its thisUpdate %s is in the future", fmtTime(ci.rl.ThisUpdate))
	}
	if ci.rl.NextUpdate.IsZero() {
		return errors.New("it has no nextUpdate, so its freshness cannot be judged (RFC 5280 §5.1.2.5)")
	}
	if now.Add(-skew).After(ci.rl.NextUpdate) {
		return fmt.Errorf("it is stale: nextUpdate %s has passed", fmtTime(ci.rl.NextUpdate))
	}
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") }

// findDelta returns the freshest usable delta CRL for the complete CRL ci
// (RFC 5280 §5.2.4, §6.3.3 (c), (g)): same issuer and signing key, same
// scope, BaseCRLNumber ≤ the complete CRL's number < the delta's number.
func (c *Checker) findDelta(ctx context.Context, ci *crlInfo, cert, signer *x509.Certificate, now time.Time) (*crlInfo, []error) {
	var cands []*crlInfo
	var errs []error
	for _, l := range c.localCRLs() {
		if l.base != nil {
			cands = append(cands, l)
		}
	}
	var urls []string
	certFresh, err := certDistributionPoints(cert, oidFreshestCRL)
	if err != nil {
		errs = append(errs, fmt.Errorf("freshest CRL extension of the certificate: %w", err))
	}
	for _, dp := range append(certFresh, ci.freshest...) {
		urls = append(urls, dp.uris()...)
	}
	seen := map[string]bool{}
	for _, u := range urls {
		if seen[u] || len(seen) == maxURLs {
			continue
		}
		seen[u] = true
		d, err := c.fetchCRL(ctx, u)
		if err != nil {
			errs = append(errs, &SourceError{"the delta CRL at " + u, err})
			continue
		}
		cands = append(cands, d)
	}
	var best *crlInfo
	for _, d := range cands {
		if !nameEqual(d.rl.RawIssuer, ci.rl.RawIssuer) {
			continue
		}
		bad := func(err error) { errs = append(errs, &SourceError{d.describe() + " (as a delta CRL)", err}) }
		switch {
		case d.base == nil:
			bad(errors.New("it is not a delta CRL"))
		case !bytes.Equal(d.idpRaw, ci.idpRaw):
			bad(errors.New("its issuing distribution point differs from the complete CRL's"))
		case d.base.Cmp(ci.number) > 0:
			bad(fmt.Errorf("it updates CRL number %s, newer than the complete CRL's %s", d.base, ci.number))
		case d.number.Cmp(ci.number) <= 0:
			bad(fmt.Errorf("its CRL number %s is not newer than the complete CRL's %s", d.number, ci.number))
		default:
			if err := checkCRLSignature(d, signer); err != nil {
				bad(err)
			} else if err := c.fresh(d, now); err != nil {
				bad(err)
			} else if best == nil || d.number.Cmp(best.number) > 0 {
				best = d
			}
		}
	}
	return best, errs
}

// crlSigner finds and authenticates the certificate that signed the CRL
// (RFC 5280 §6.3.3 (f)): the certificate's issuer when it signed it, or a
// certificate from Config.Certificates (a separate CRL-signing key, an
// indirect CRL issuer) whose path validates to the same trust anchor, has
// cRLSign, and is itself not revoked.
func (c *Checker) crlSigner(ctx context.Context, ci *crlInfo, chain []*x509.Certificate, i, depth int) (*x509.Certificate, error) {
	issuer := chain[i+1]
	var firstErr error
	if nameEqual(issuer.RawSubject, ci.rl.RawIssuer) && akiMatches(ci.rl.AuthorityKeyId, issuer) {
		err := checkCRLSignature(ci, issuer)
		if err == nil {
			return issuer, nil
		}
		firstErr = err
	}
	anchor := chain[len(chain)-1]
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	inter := x509.NewCertPool()
	for _, cc := range chain[:len(chain)-1] {
		inter.AddCert(cc)
	}
	for _, cc := range c.cfg.Certificates {
		inter.AddCert(cc)
	}
	for _, cand := range append(append([]*x509.Certificate{}, chain...), c.cfg.Certificates...) {
		if cand == issuer || !nameEqual(cand.RawSubject, ci.rl.RawIssuer) || !akiMatches(ci.rl.AuthorityKeyId, cand) {
			continue
		}
		if err := checkCRLSignature(ci, cand); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if cand == anchor || signerInProgress(ctx, cand) {
			// A CRL issuer whose own certificate is covered by the CRL it
			// signs (PKITS 4.14.30): the signature is verified, and
			// checking the certificate again would never end.
			return cand, nil
		}
		if depth >= maxSignerDepth {
			return nil, errors.New("CRL issuer certificates nest too deeply")
		}
		paths, err := cand.Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: inter, CurrentTime: c.now(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			firstErr = fmt.Errorf("the CRL issuer certificate %s does not chain to the same trust anchor: %w", certName(cand), err)
			continue
		}
		path := paths[0]
		var perr error
		sctx := withSigner(ctx, cand)
		for j := 0; j < len(path)-1; j++ {
			st := c.check(sctx, path, j, nil, depth+1)
			switch st.State {
			case Revoked:
				perr = fmt.Errorf("the CRL issuer's path is revoked: %v", revokedError(st)) // %v: the checked certificate itself is not revoked
			case Unknown:
				perr = fmt.Errorf("the CRL issuer's path has unknown status: %w", st.Err)
			}
			if perr != nil {
				break
			}
		}
		if perr != nil {
			firstErr = perr
			continue
		}
		return cand, nil
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("no certificate of the CRL issuer %s (with a matching key identifier) is known; add it to Config.Certificates", ci.rl.Issuer)
	}
	return nil, firstErr
}

const maxSignerDepth = 3

type signerCtxKey struct{}

// withSigner records that cand's own status is being checked.
func withSigner(ctx context.Context, cand *x509.Certificate) context.Context {
	prev, _ := ctx.Value(signerCtxKey{}).([]*x509.Certificate)
	return context.WithValue(ctx, signerCtxKey{}, append(prev[:len(prev):len(prev)], cand))
}

func signerInProgress(ctx context.Context, cand *x509.Certificate) bool {
	prev, _ := ctx.Value(signerCtxKey{}).([]*x509.Certificate)
	for _, p := range prev {
		if p.Equal(cand) {
			return true
		}
	}
	return false
}

func akiMatches(aki []byte, cert *x509.Certificate) bool {
	return len(aki) == 0 || len(cert.SubjectKeyId) == 0 || bytes.Equal(aki, cert.SubjectKeyId)
}

// checkCRLSignature verifies the CRL with cert's key, requiring cRLSign
// when the certificate has a key usage extension (RFC 5280 §6.3.3 (f)).
func checkCRLSignature(ci *crlInfo, cert *x509.Certificate) error {
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return fmt.Errorf("its issuer %s lacks cRLSign in keyUsage; reissue the CA certificate with cRLSign", certName(cert))
	}
	key := string(cert.RawSubjectPublicKeyInfo)
	ci.mu.Lock()
	ok := ci.verifiedBy[key]
	ci.mu.Unlock()
	if ok {
		return nil
	}
	if err := cert.CheckSignature(ci.rl.SignatureAlgorithm, ci.rl.RawTBSRevocationList, ci.rl.Signature); err != nil {
		return fmt.Errorf("bad signature by %s: %w", certName(cert), err)
	}
	ci.mu.Lock()
	if ci.verifiedBy == nil {
		ci.verifiedBy = make(map[string]bool)
	}
	ci.verifiedBy[key] = true
	ci.mu.Unlock()
	return nil
}

// certDistributionPoints parses a CRLDistributionPoints or FreshestCRL
// extension of the certificate.
func certDistributionPoints(cert *x509.Certificate, oid asn1.ObjectIdentifier) ([]distributionPoint, error) {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oid) {
			return parseDistributionPoints(ext.Value)
		}
	}
	return nil, nil
}

// fetchCRL returns the parsed CRL at u, from the cache when still fresh;
// concurrent callers share one fetch.
func (c *Checker) fetchCRL(ctx context.Context, u string) (*crlInfo, error) {
	key := "crl\x00" + u
	if v, ok := c.cache.get(key, c.now()); ok {
		return v.(*crlInfo), nil
	}
	v, err := c.once(ctx, key, func() (any, error) { return c.fetchCRLNow(ctx, u, key) })
	if err != nil {
		return nil, err
	}
	return v.(*crlInfo), nil
}

func (c *Checker) fetchCRLNow(ctx context.Context, u, key string) (*crlInfo, error) {
	scheme, err := urlScheme(u)
	if err != nil {
		return nil, err
	}
	f := c.fetchers[scheme]
	if f == nil {
		return nil, errNoFetcher(scheme)
	}
	fctx, cancel := context.WithTimeout(ctx, c.fetchTimeout())
	defer cancel()
	body, err := f.Fetch(fctx, u)
	if err != nil {
		if ctx.Err() != nil || fctx.Err() != nil {
			return nil, unavailable(err)
		}
		return nil, err
	}
	if int64(len(body)) > c.maxSize() {
		return nil, fmt.Errorf("CRL larger than %d bytes", c.maxSize())
	}
	ci, err := parseCRL(body, "the CRL at "+u)
	if err != nil {
		return nil, err
	}
	if !ci.rl.NextUpdate.IsZero() {
		c.cache.put(key, ci, c.cacheUntil(ci.rl.NextUpdate))
	}
	return ci, nil
}
