package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/pkid/pkid/internal/tlsregistry"
)

// Code-point lists offered by the scanner, computed once from the registry.
var (
	suitesByVersion = map[tlsregistry.Version][]uint16{}
	allGroups       []uint16 // every group, for version and suite probes
	groups13        []uint16 // groups TLS 1.3 allows, probed one by one
	groups12        []uint16 // elliptic curves probed one by one in TLS 1.0–1.2
	sigSchemes13    []uint16
	sigSchemes12    []uint16
	allSigSchemes   []uint16
	// suitesByKX lists the TLS 1.0–1.2 suites of each key exchange that
	// sends a ServerKeyExchange, certificate-authenticated ones first.
	suitesByKX = map[string][]uint16{}
)

func init() {
	for _, s := range tlsregistry.Suites() {
		if s.Signalling || s.Code == 0x0000 {
			continue
		}
		for _, v := range scanVersions[1:] {
			if s.MinVersion <= v && v <= s.MaxVersion {
				suitesByVersion[v] = append(suitesByVersion[v], s.Code)
			}
		}
		if (s.KeyExchange == "ECDHE" || s.KeyExchange == "DHE") && !s.TLS13() && s.Auth != "anon" {
			suitesByKX[s.KeyExchange] = append(suitesByKX[s.KeyExchange], s.Code)
		}
	}
	for _, s := range tlsregistry.Suites() {
		// Anonymous suites last: a server that takes them picks them only
		// when nothing authenticated is left.
		if (s.KeyExchange == "ECDHE" || s.KeyExchange == "DHE") && !s.TLS13() && s.Auth == "anon" {
			suitesByKX[s.KeyExchange] = append(suitesByKX[s.KeyExchange], s.Code)
		}
	}
	for _, g := range tlsregistry.Groups() {
		if g.ID >= 0xFF00 {
			continue
		}
		allGroups = append(allGroups, g.ID)
		if g.TLS13 {
			groups13 = append(groups13, g.ID)
		}
		if g.Kind == "EC" && (g.ID <= 30) {
			groups12 = append(groups12, g.ID)
		}
	}
	for _, s := range tlsregistry.SignatureSchemes() {
		allSigSchemes = append(allSigSchemes, s.Code)
		if s.TLS13 {
			sigSchemes13 = append(sigSchemes13, s.Code)
		}
		if s.TLS12 {
			sigSchemes12 = append(sigSchemes12, s.Code)
		}
	}
}

// hello builds a ClientHello for version v offering suites, with every
// group and signature scheme unless mod narrows them.
func (s *scanner) hello(v tlsregistry.Version, suites []uint16, mod func(*clientHello)) []byte {
	h := &clientHello{
		version:       uint16(v),
		suites:        suites,
		serverName:    s.opts.ServerName,
		groups:        allGroups,
		pointFormats:  true,
		sigSchemes:    allSigSchemes,
		renegInfo:     true,
		statusRequest: true,
		sessionTicket: true,
	}
	_, _ = io.ReadFull(s.opts.Rand, h.random[:])
	switch v {
	case tlsregistry.SSL30:
		h.recordVersion = 0x0300
	case tlsregistry.TLS13:
		h.version = uint16(tlsregistry.TLS12)
		h.versions = []uint16{uint16(tlsregistry.TLS13)}
		h.renegInfo = false
		h.pskModes = true
		// An empty key_share: the server answers with a HelloRetryRequest,
		// which names the version, suite and group it picked (RFC 8446
		// §4.1.4) before it computes a key or signs anything, so TLS 1.3
		// probes cost the server almost nothing.
		h.withKeyShare = true
		// A compatibility-mode session id (RFC 8446 §D.4) keeps middleboxes
		// and some servers happy.
		h.sessionID = make([]byte, 32)
		_, _ = io.ReadFull(s.opts.Rand, h.sessionID)
	}
	if mod != nil {
		mod(h)
	}
	return h.marshal()
}

// accepted reports whether f is a ServerHello (or HelloRetryRequest) for v.
func accepted(f *serverFlight, v tlsregistry.Version) bool {
	return f != nil && f.hello != nil && f.hello.version == uint16(v)
}

// scanVersions tries each version once with everything offered.
func (s *scanner) scanVersions(ctx context.Context, rep *ScanReport) ([]tlsregistry.Version, error) {
	type outcome struct {
		f   *serverFlight
		err error
	}
	results := make([]outcome, len(scanVersions))
	var wg sync.WaitGroup
	for i, v := range scanVersions {
		wg.Go(func() {
			var msg []byte
			if v == tlsregistry.SSL20 {
				var challenge [16]byte
				_, _ = io.ReadFull(s.opts.Rand, challenge[:])
				msg = sslv2ClientHello(challenge)
			} else {
				msg = s.hello(v, suitesByVersion[v], nil)
			}
			f, err := s.probe(ctx, msg, needHello)
			if v != tlsregistry.SSL20 && !accepted(f, v) && refused(f, err) {
				// Some stacks refuse long suite lists (more than 128 suites,
				// or hellos of 256–511 bytes) rather than pick from them;
				// ask again with the list dealt into shorter ones.
				if g := s.retryVersion(ctx, v); g != nil {
					f, err = g, nil
				}
			}
			results[i] = outcome{f, err}
		})
	}
	wg.Wait()

	var supported []tlsregistry.Version
	var dialErr, notTLS, other, closed error
	answered := false
	for i, v := range scanVersions {
		f, err := results[i].f, results[i].err
		pr := ProtocolResult{Version: v, Name: v.String()}
		switch {
		case v == tlsregistry.SSL20 && f != nil && f.sslv2:
			pr.Supported = f.sslv2Ciphers > 0
			pr.Detail = fmt.Sprintf("SERVER-HELLO with %d cipher kinds", f.sslv2Ciphers)
		case v == tlsregistry.SSL20:
			// Modern servers answer an SSL 2.0 hello with garbage or an alert;
			// that is a refusal, not a fault.
			pr.Detail = "no SSL 2.0 SERVER-HELLO"
			if err == nil && f != nil && f.alert != nil {
				answered = true
			}
			if err != nil && !errors.Is(err, errNotTLS) && !refused(f, err) {
				var de *dialError
				if errors.As(err, &de) {
					dialErr = err
				}
			}
		case accepted(f, v):
			pr.Supported = true
			answered = true
		case f != nil && f.hello != nil:
			answered = true
			pr.Detail = "the server answered with " + tlsregistry.Version(f.hello.version).String()
		case f != nil && f.alert != nil:
			answered = true
			pr.Detail = "alert " + f.alert.Name
		case errors.Is(err, errClosed):
			pr.Detail = err.Error()
			closed = err
		case err != nil:
			pr.Detail = err.Error()
			var de *dialError
			switch {
			case errors.As(err, &de):
				dialErr = err
			case errors.Is(err, errNotTLS):
				notTLS = err
			default:
				other = err
				s.problem("%s probe: %v", v, err)
			}
		}
		if pr.Supported {
			pr.Verdict, pr.Reason = v.Verdict()
			supported = append(supported, v)
		}
		rep.Protocols = append(rep.Protocols, pr)
	}
	if len(supported) == 0 && !answered {
		switch {
		case notTLS != nil:
			return nil, fmt.Errorf("scan %s: %w", s.opts.Addr, notTLS)
		case dialErr != nil:
			return nil, fmt.Errorf("scan: %w", dialErr)
		case other != nil:
			return nil, fmt.Errorf("scan %s: %w", s.opts.Addr, other)
		case closed != nil:
			return nil, fmt.Errorf("scan %s: %w, to every ClientHello; is this a TLS port?", s.opts.Addr, closed)
		default:
			return nil, fmt.Errorf("scan %s: no TLS answer to any ClientHello; is this a TLS port?", s.opts.Addr)
		}
	}
	return supported, nil
}

// suiteChains is how many elimination chains run side by side per version.
const suiteChains = 4

// retryVersion offers v's suites in suiteChains shorter lists at once and
// returns the first ServerHello for v, or nil.
func (s *scanner) retryVersion(ctx context.Context, v tlsregistry.Version) *serverFlight {
	var (
		mu  sync.Mutex
		got *serverFlight
		wg  sync.WaitGroup
	)
	for _, chain := range dealSuites(suitesByVersion[v]) {
		wg.Go(func() {
			f, _ := s.probe(ctx, s.hello(v, chain, nil), needHello)
			if accepted(f, v) {
				mu.Lock()
				got = f
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}

// dealSuites deals suites into suiteChains lists, like cards, so each gets
// a share of every suite family.
func dealSuites(suites []uint16) [][]uint16 {
	chains := make([][]uint16, suiteChains)
	for i, c := range suites {
		chains[i%suiteChains] = append(chains[i%suiteChains], c)
	}
	return chains
}

// scanSuites finds every suite v accepts and the server's order. Finding
// the set uses the standard elimination: offer a list, remove the suite the
// server picks, repeat until it refuses; the candidates are dealt into
// suiteChains lists eliminated in parallel, so the sequential chain is a
// quarter as long. Two probes with the accepted suites in opposite orders
// then tell whether the server honours the client's order; if it imposes
// its own, one more elimination over the accepted suites yields it.
func (s *scanner) scanSuites(ctx context.Context, v tlsregistry.Version) *SuiteList {
	chains := dealSuites(suitesByVersion[v])
	found := make([][]uint16, suiteChains)
	var wg sync.WaitGroup
	for i, chain := range chains {
		wg.Go(func() { found[i], _ = s.eliminate(ctx, v, chain, false) })
	}
	wg.Wait()
	picked := slices.Concat(found...)
	slices.Sort(picked)

	l := &SuiteList{Version: v, Name: v.String()}
	if len(picked) > 1 {
		rev := slices.Clone(picked)
		slices.Reverse(rev)
		var fwdPick, revPick uint16
		var fwdErr, revErr error
		wg.Go(func() { fwdPick, fwdErr = s.pickSuite(ctx, v, picked) })
		wg.Go(func() { revPick, revErr = s.pickSuite(ctx, v, rev) })
		wg.Wait()
		switch {
		case fwdErr != nil || revErr != nil:
			s.problem("%s cipher order: %v", v, errors.Join(fwdErr, revErr))
		case fwdPick == picked[0] && revPick == rev[0]:
			// The client's first choice wins both times: client order.
		default:
			if order, ok := s.eliminate(ctx, v, picked, true); ok {
				picked, l.ServerOrder = order, true
			}
		}
	}
	for _, c := range picked {
		l.Suites = append(l.Suites, suiteResult(c))
	}
	return l
}

// eliminate offers list, removes the suite the server picks and repeats.
// With known set, list holds only accepted suites and every probe must be
// answered; ok is false when that fails. The picks come in the server's
// order of preference when it has one.
func (s *scanner) eliminate(ctx context.Context, v tlsregistry.Version, list []uint16, known bool) (picked []uint16, ok bool) {
	remaining := slices.Clone(list)
	for len(remaining) > 0 && ctx.Err() == nil {
		if known && len(remaining) == 1 {
			return append(picked, remaining[0]), true
		}
		c, err := s.pickSuite(ctx, v, remaining)
		if err != nil {
			if known || !errors.Is(err, errRefused) {
				s.problem("%s suites: %v", v, err)
			}
			return picked, false
		}
		picked = append(picked, c)
		remaining = slices.DeleteFunc(remaining, func(x uint16) bool { return x == c })
	}
	return picked, !known || ctx.Err() == nil
}

// errRefused is a server refusing every offered suite.
var errRefused = errors.New("the server refused every offered suite")

// pickSuite offers suites in version v and returns the one the server
// picks.
func (s *scanner) pickSuite(ctx context.Context, v tlsregistry.Version, suites []uint16) (uint16, error) {
	f, err := s.probe(ctx, s.hello(v, suites, nil), needHello)
	switch {
	case accepted(f, v):
		c := f.hello.cipher
		if !slices.Contains(suites, c) {
			return 0, fmt.Errorf("the server chose %04X, which was not offered", c)
		}
		return c, nil
	case refused(f, err):
		return 0, errRefused
	}
	return 0, orUnknown(err)
}

func suiteResult(c uint16) SuiteResult {
	st, ok := tlsregistry.SuiteByCode(c)
	if !ok {
		return SuiteResult{Code: c, Hex: fmt.Sprintf("%04X", c), IANA: "unknown", Verdict: tlsregistry.VerdictNone, Reason: "not in the IANA registry"}
	}
	return SuiteResult{Code: c, Hex: st.Hex(), IANA: st.Name, OpenSSL: st.OpenSSL, Verdict: st.Verdict, Reason: st.Reason}
}

func orUnknown(err error) error {
	if err == nil {
		return errors.New("unexpected answer")
	}
	return err
}

// forEach runs probe for every id in parallel (bounded by the scanner's
// semaphore) and returns the ids for which it reported true, in order.
func forEach(ids []uint16, probe func(id uint16) bool) []uint16 {
	ok := make([]bool, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { ok[i] = probe(id) })
	}
	wg.Wait()
	var out []uint16
	for i, id := range ids {
		if ok[i] {
			out = append(out, id)
		}
	}
	return out
}

// scanGroups13 offers one group at a time with an empty key_share: a
// server that supports the group answers with a HelloRetryRequest naming
// it (RFC 8446 §4.1.4), so no key needs to be computed for any group.
func (s *scanner) scanGroups13(ctx context.Context) []uint16 {
	return forEach(groups13, func(g uint16) bool {
		msg := s.hello(tlsregistry.TLS13, suitesByVersion[tlsregistry.TLS13], func(h *clientHello) {
			h.groups = []uint16{g}
			h.keyShares = nil
		})
		f, err := s.probe(ctx, msg, needHello)
		if accepted(f, tlsregistry.TLS13) {
			return f.hello.group == g
		}
		if !refused(f, err) {
			s.problem("TLS 1.3 group %04X: %v", g, orUnknown(err))
		}
		return false
	})
}

// scanGroups12 offers every ECDHE suite with one curve at a time and reads
// the curve from ServerKeyExchange (RFC 8422 §5.4).
func (s *scanner) scanGroups12(ctx context.Context, v tlsregistry.Version) []uint16 {
	ecdhe := suitesFor(v, "ECDHE")
	return forEach(groups12, func(g uint16) bool {
		msg := s.hello(v, ecdhe, func(h *clientHello) { h.groups = []uint16{g} })
		f, err := s.probe(ctx, msg, needKeyExchange)
		if accepted(f, v) && f.keyExchange != nil {
			return f.keyExchange.group == g
		}
		if !accepted(f, v) && !refused(f, err) {
			s.problem("%s group %04X: %v", v, g, orUnknown(err))
		}
		return false
	})
}

// suitesFor lists the suites of the given key exchanges usable in v.
func suitesFor(v tlsregistry.Version, kx ...string) []uint16 {
	var out []uint16
	for _, k := range kx {
		for _, c := range suitesByKX[k] {
			if slices.Contains(suitesByVersion[v], c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// scanSignatures12 offers one signature scheme at a time with every
// (EC)DHE suite; TLS 1.2 ServerKeyExchange names the scheme in the clear
// (RFC 5246 §7.4.3). ECDHE comes first: with x25519 it costs the server far
// less than DHE.
func (s *scanner) scanSignatures12(ctx context.Context) []SignatureResult {
	suites := suitesFor(tlsregistry.TLS12, "ECDHE", "DHE")
	ok := forEach(sigSchemes12, func(sc uint16) bool {
		msg := s.hello(tlsregistry.TLS12, suites, func(h *clientHello) { h.sigSchemes = []uint16{sc} })
		f, _ := s.probe(ctx, msg, needKeyExchange)
		return accepted(f, tlsregistry.TLS12) && f.keyExchange != nil && f.keyExchange.hasScheme && f.keyExchange.sigScheme == sc
	})
	return sigResults(tlsregistry.TLS12, ok)
}

// scanSignatures13 offers one scheme at a time. TLS 1.3 encrypts
// CertificateVerify, but a server with no usable scheme refuses before its
// ServerHello, so a ServerHello means the scheme is usable. The key shares
// must be ones the server takes, or a HelloRetryRequest would come first:
// x25519 with P-256, else P-384, else P-521, whichever the server answers
// with a ServerHello when offered every scheme.
func (s *scanner) scanSignatures13(ctx context.Context) []SignatureResult {
	hello := func(shares []keyShare, schemes []uint16) []byte {
		return s.hello(tlsregistry.TLS13, suitesByVersion[tlsregistry.TLS13], func(h *clientHello) {
			h.sigSchemes = schemes
			h.groups = nil
			for _, ks := range shares {
				h.groups = append(h.groups, ks.group)
			}
			h.keyShares = shares
		})
	}
	var shares []keyShare
	for _, set := range [][]uint16{{0x001D, 0x0017}, {0x0018}, {0x0019}} {
		var try []keyShare
		for _, g := range set {
			if ks, ok := newKeyShare(g, s.opts.Rand); ok {
				try = append(try, ks)
			}
		}
		f, _ := s.probe(ctx, hello(try, sigSchemes13), needHello)
		if accepted(f, tlsregistry.TLS13) && !f.hello.retry {
			shares = try
			break
		}
	}
	if shares == nil {
		s.problem("TLS 1.3 signature schemes: the server takes none of the x25519, P-256, P-384 and P-521 key shares the scanner can make")
		return nil
	}
	ok := forEach(sigSchemes13, func(sc uint16) bool {
		f, _ := s.probe(ctx, hello(shares, []uint16{sc}), needHello)
		return accepted(f, tlsregistry.TLS13) && !f.hello.retry
	})
	return sigResults(tlsregistry.TLS13, ok)
}

func sigResults(v tlsregistry.Version, codes []uint16) []SignatureResult {
	var out []SignatureResult
	for _, c := range codes {
		sc, _ := tlsregistry.SignatureSchemeByCode(c)
		out = append(out, SignatureResult{Version: v, Name: v.String(), Scheme: c, Hex: sc.Hex(), IANA: sc.Name, Verdict: sc.Verdict, Reason: sc.Reason})
	}
	return out
}

// scanFeatures reads one full first flight of version v, offering DEFLATE
// compression, status_request, session_ticket and renegotiation_info.
func (s *scanner) scanFeatures(ctx context.Context, v tlsregistry.Version) []Feature {
	msg := s.hello(v, suitesByVersion[v], func(h *clientHello) { h.compression = []uint8{1, 0} })
	f, err := s.probe(ctx, msg, needFlight)
	if !accepted(f, v) {
		s.problem("%s features: %v", v, orUnknown(err))
		return nil
	}
	h := f.hello
	var out []Feature
	if h.renegInfo {
		out = append(out, Feature{"secure renegotiation", true, tlsregistry.Fine, "renegotiation_info echoed (RFC 5746)"})
	} else {
		out = append(out, Feature{"secure renegotiation", false, tlsregistry.Weak, "no renegotiation_info: renegotiation is open to the RFC 5746 splicing attack (CVE-2009-3555)"})
	}
	if h.compression != 0 {
		out = append(out, Feature{"compression", true, tlsregistry.Insecure, "TLS compression leaks secrets (CRIME, CVE-2012-4929); disable it"})
	} else {
		out = append(out, Feature{"compression", false, tlsregistry.Fine, "DEFLATE offered and refused"})
	}
	switch {
	case h.statusRequest && f.certStatus:
		out = append(out, Feature{"OCSP stapling", true, tlsregistry.Fine, "CertificateStatus sent in " + v.String()})
	case h.statusRequest:
		out = append(out, Feature{"OCSP stapling", false, tlsregistry.VerdictNone, "status_request acknowledged but no CertificateStatus sent (no response to staple)"})
	default:
		out = append(out, Feature{"OCSP stapling", false, tlsregistry.VerdictNone, "no staple: clients must fetch OCSP or CRLs themselves"})
	}
	if h.sessionTicket {
		out = append(out, Feature{"session tickets", true, tlsregistry.VerdictNone, "session_ticket echoed in " + v.String() + " (RFC 5077)"})
	} else {
		out = append(out, Feature{"session tickets", false, tlsregistry.VerdictNone, "no session_ticket in " + v.String() + "; TLS 1.3 tickets are encrypted and not checked"})
	}
	return out
}

// scanFallback sends TLS_FALLBACK_SCSV (RFC 7507) with a version below the
// highest supported one; a protected server answers inappropriate_fallback.
func (s *scanner) scanFallback(ctx context.Context, supported []tlsregistry.Version) *Feature {
	var lower tlsregistry.Version
	for _, v := range supported[:len(supported)-1] {
		if v >= tlsregistry.SSL30 {
			lower = v
		}
	}
	if lower == 0 {
		return nil
	}
	msg := s.hello(lower, append(slices.Clone(suitesByVersion[lower]), 0x5600), nil)
	f, err := s.probe(ctx, msg, needHello)
	switch {
	case f != nil && f.alert != nil && f.alert.Code == 86:
		return &Feature{"fallback protection", true, tlsregistry.Fine, "TLS_FALLBACK_SCSV answered with inappropriate_fallback (RFC 7507)"}
	case accepted(f, lower):
		return &Feature{"fallback protection", false, tlsregistry.Weak, "TLS_FALLBACK_SCSV ignored: a downgraded " + lower.String() + " handshake is accepted"}
	}
	s.problem("fallback protection: %v", orUnknown(err))
	return nil
}

// scanDHE reads the finite-field group size the server uses with its DHE
// suites (RFC 5246 §7.4.3 ServerDHParams); below 2048 bits is Logjam
// territory.
func (s *scanner) scanDHE(ctx context.Context, v tlsregistry.Version) *Feature {
	dhe := suitesFor(v, "DHE")
	f, err := s.probe(ctx, s.hello(v, dhe, nil), needKeyExchange)
	switch {
	case refused(f, err) && !accepted(f, v):
		return nil // no DHE suites
	case !accepted(f, v) || f.keyExchange == nil || f.keyExchange.dhBits == 0:
		s.problem("%s DHE parameters: %v", v, orUnknown(err))
		return nil
	}
	bits := f.keyExchange.dhBits
	out := &Feature{Name: fmt.Sprintf("DHE parameters (%d bits)", bits), Supported: true}
	switch {
	case bits < 1024:
		out.Verdict, out.Reason = tlsregistry.Insecure, "DH group below 1024 bits can be broken (Logjam, CVE-2015-4000)"
	case bits < 2048:
		out.Verdict, out.Reason = tlsregistry.Weak, "DH group below 2048 bits (Logjam); use 2048 bits or more, or ECDHE only"
	default:
		out.Verdict, out.Reason = tlsregistry.Fine, "DH group of 2048 bits or more"
	}
	return out
}
