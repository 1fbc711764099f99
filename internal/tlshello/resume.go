package tlshello

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Limits crypto/tls applies when it resumes a TLS 1.3 session
// (handshake_server_tls13.go: maxClientPSKIdentities,
// maxSessionTicketLifetime). Resumer applies the lifetime with a margin
// (clockMargin) so that it never calls a ticket good that crypto/tls,
// reading the clock a moment later, refuses.
const (
	maxClientPSKIdentities = 5
	maxSessionLifetime     = 7 * 24 * time.Hour
	clockMargin            = time.Minute
)

// ClassicalGroups are the groups the resumption configuration offers:
// crypto/tls's default groups without the post-quantum hybrids.
var ClassicalGroups = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// ErrDowngrade is returned (and the handshake aborted) when crypto/tls
// runs a full handshake on the resumption configuration after all, with a
// client that offered a post-quantum group: Resumer's mirror of
// crypto/tls's ticket checks disagreed with crypto/tls. It must not
// happen; if it does, the client gets a handshake failure, never a full
// handshake without post-quantum protection.
var ErrDowngrade = errors.New("tlshello: session ticket was refused after the resumption key exchange was chosen; aborting rather than running a full handshake without post-quantum protection")

// Resumer chooses the key exchange of TLS 1.3 handshakes by whether
// crypto/tls will resume them. Install it with NewResumer; wrap the
// connections the handshakes run over in Conn (NewConn).
//
// Why this is safe. A resumed TLS 1.3 handshake in crypto/tls is always
// psk_dhe_ke (RFC 8446 §4.2.9): its keys are derived from the PSK — the
// resumption secret of an earlier handshake — and from a fresh (EC)DHE
// share. Every full handshake keeps the listener's configuration, so its
// key exchange is hybrid X25519MLKEM768 whenever the client offers it, and
// the PSK it yields is post-quantum protected. The ticket that carries the
// PSK to the client is sealed with the server's symmetric ticket key
// (AES-128-CTR + HMAC-SHA256). A recorder who later has a quantum computer
// therefore learns nothing from a resumed session whose (EC)DHE share is
// classical: they would need the PSK, which neither the hybrid handshake
// nor the sealed ticket gives away. The hybrid share in a resumed handshake
// only adds protection against a later theft of the ticket key, which
// pkid keeps in memory only (crypto/tls's automatic keys, rotated daily,
// valid a week).
//
// The trap: crypto/tls picks the group before it decrypts the ticket, so
// a configuration without hybrids chosen for a ticket crypto/tls then
// rejects (server restarted, key rotated out, ticket expired, client
// certificate expired) would make a full handshake on a classical group —
// a silent post-quantum downgrade. Resumer avoids it exactly: it returns
// the classical configuration only when the ClientHello's pre_shared_key
// holds a ticket that decrypts with the listener's ticket keys and passes
// every check crypto/tls's checkForResumption applies (TLS 1.3 session,
// within its lifetime, a cipher suite whose hash matches the suite the
// server will pick, client certificates consistent with ClientAuth and
// unexpired). The binder is still checked by crypto/tls: a client that
// replays a captured ticket without its PSK fails the handshake, so no one
// can force a classical full handshake. As a last line, the classical
// configuration's GetCertificate — which crypto/tls calls only for a full
// handshake — refuses with ErrDowngrade when the client offered a
// post-quantum group.
type Resumer struct {
	base, classical *tls.Config
	getCert         func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	log             *slog.Logger

	resumed, full, refused atomic.Uint64

	// Sessions willResume decrypted, by ticket, for crypto/tls to take
	// through Config.UnwrapSession instead of decrypting the ticket again
	// moments later in the same handshake (see unwrap).
	mu       sync.Mutex
	sessions map[string]*tls.SessionState
	handed   atomic.Uint64
}

// maxHanded bounds Resumer.sessions: an entry stays only when a handshake
// fails between GetConfigForClient and crypto/tls's ticket check; the map
// is emptied when it reaches this size.
const maxHanded = 1024

// NewResumer installs a Resumer as base.GetConfigForClient and
// base.UnwrapSession (which hands crypto/tls the session the Resumer
// decrypted to make its choice, see unwrap). base must set
// GetCertificate and no Certificates, nor GetConfigForClient; it must not
// be used for handshakes yet. The classical configuration shares base's
// ticket keys: crypto/tls uses the original configuration's keys when the
// one GetConfigForClient returns has none set with SetSessionTicketKeys.
// So keep base's automatic keys (as pkid does), or call
// SetSessionTicketKeys on base before NewResumer and never after: the
// classical configuration is a clone and would keep the old keys. log
// receives the ErrDowngrade events (slog.Default() if nil).
func NewResumer(base *tls.Config, log *slog.Logger) (*Resumer, error) {
	switch {
	case base.GetConfigForClient != nil:
		return nil, errors.New("tlshello: the TLS configuration already has GetConfigForClient")
	case base.GetCertificate == nil || len(base.Certificates) != 0:
		return nil, errors.New("tlshello: the TLS configuration must choose its certificate with GetCertificate and list no Certificates")
	case base.UnwrapSession != nil || base.WrapSession != nil:
		return nil, errors.New("tlshello: the TLS configuration wraps its own sessions; Resumer reads crypto/tls's tickets")
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Resumer{base: base, getCert: base.GetCertificate, log: log, sessions: map[string]*tls.SessionState{}}
	base.UnwrapSession = r.unwrap // before the clone, which shares it
	c := base.Clone()
	c.CurvePreferences = ClassicalGroups
	if len(base.CurvePreferences) != 0 {
		c.CurvePreferences = slices.DeleteFunc(slices.Clone(base.CurvePreferences), isPostQuantum)
	}
	c.GetCertificate = r.guardFullHandshake
	r.classical = c
	base.GetConfigForClient = r.configForClient
	return r, nil
}

// Counts returns how many ClientHellos got the classical configuration
// (resumed), how many the listener's own (full), and how many handshakes
// were refused with ErrDowngrade.
func (r *Resumer) Counts() (resumed, full, refused uint64) {
	return r.resumed.Load(), r.full.Load(), r.refused.Load()
}

func (r *Resumer) guardFullHandshake(chi *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if slices.ContainsFunc(chi.SupportedCurves, r.basePostQuantum) {
		r.refused.Add(1)
		r.log.Warn("TLS handshake refused", "remote", remote(chi), "err", ErrDowngrade)
		return nil, ErrDowngrade
	}
	return r.getCert(chi)
}

// basePostQuantum reports whether g is a post-quantum group the
// listener's own configuration would negotiate.
func (r *Resumer) basePostQuantum(g tls.CurveID) bool {
	return isPostQuantum(g) && (len(r.base.CurvePreferences) == 0 || slices.Contains(r.base.CurvePreferences, g))
}

func remote(chi *tls.ClientHelloInfo) string {
	if chi.Conn == nil {
		return ""
	}
	return chi.Conn.RemoteAddr().String()
}

func isPostQuantum(g tls.CurveID) bool {
	switch g {
	case tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024:
		return true
	}
	return false
}

// configForClient is base.GetConfigForClient.
func (r *Resumer) configForClient(chi *tls.ClientHelloInfo) (*tls.Config, error) {
	if r.willResume(chi) {
		r.resumed.Add(1)
		return r.classical, nil
	}
	r.full.Add(1)
	return nil, nil
}

// willResume reports whether crypto/tls, given chi and base, will resume
// a TLS 1.3 session with a classical key share the client sent. Every
// doubt answers false.
func (r *Resumer) willResume(chi *tls.ClientHelloInfo) bool {
	rc, ok := chi.Conn.(*Conn)
	if !ok || !slices.Contains(chi.Extensions, extPreSharedKey) ||
		!slices.Contains(chi.SupportedVersions, tls.VersionTLS13) ||
		r.base.MaxVersion != 0 && r.base.MaxVersion < tls.VersionTLS13 || r.base.SessionTicketsDisabled {
		return false
	}
	h, err := Parse(rc.Recorded())
	// The recorded message must be the one crypto/tls parsed.
	if err != nil || !slices.Equal(h.CipherSuites, chi.CipherSuites) || !slices.Equal(h.SupportedVersions, chi.SupportedVersions) {
		return false
	}
	if !slices.Contains(h.PSKModes, pskModeDHE) || len(h.PSKIdentities) == 0 || len(h.PSKIdentities) != h.Binders {
		return false
	}
	// A key share crypto/tls will take from the classical groups, so the
	// resumption costs no HelloRetryRequest.
	if !slices.ContainsFunc(h.KeyShares, func(g tls.CurveID) bool {
		return slices.Contains(r.classical.CurvePreferences, g) && slices.Contains(chi.SupportedCurves, g)
	}) {
		return false
	}
	suiteHash, ok := serverSuiteHash(chi.CipherSuites)
	if !ok {
		return false
	}
	now := time.Now
	if r.base.Time != nil {
		now = r.base.Time
	}
	for i, id := range h.PSKIdentities {
		if i >= maxClientPSKIdentities {
			break
		}
		s, err := r.base.DecryptTicket(id.Identity, tls.ConnectionState{})
		if err != nil || s == nil {
			continue
		}
		if acceptable(s, suiteHash, r.base.ClientAuth, now()) == nil {
			r.hand(id.Identity, s)
			return true
		}
	}
	return false
}

// hand keeps s, decrypted from ticket identity, for unwrap.
func (r *Resumer) hand(identity []byte, s *tls.SessionState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions) >= maxHanded {
		clear(r.sessions)
	}
	r.sessions[string(identity)] = s
}

// unwrap is the listener's Config.UnwrapSession (and so the classical
// configuration's): the session willResume decrypted from identity in this
// handshake, taken once, or else the ticket decrypted as crypto/tls does
// without UnwrapSession (Config.DecryptTicket, with the listener's keys:
// the keys crypto/tls would use, since the classical configuration has
// none of its own). Both are the same answer: willResume decrypted the
// same bytes with the same keys microseconds before, and a session it
// accepted is days from the end of its keys' life (acceptable). crypto/tls
// checks the session as ever (version, lifetime, cipher suite, client
// certificate) and the binder.
func (r *Resumer) unwrap(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	r.mu.Lock()
	s, ok := r.sessions[string(identity)]
	if ok {
		delete(r.sessions, string(identity))
	}
	r.mu.Unlock()
	if ok {
		r.handed.Add(1)
		return s, nil
	}
	return r.base.DecryptTicket(identity, cs)
}

// hashOf is the hash of each TLS 1.3 cipher suite (RFC 8446 §B.4).
func hashOf(suite uint16) int {
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256:
		return 256
	case tls.TLS_AES_256_GCM_SHA384:
		return 384
	}
	return 0
}

// serverSuiteHash returns the hash of the TLS 1.3 cipher suite crypto/tls
// will choose for a client offering suites. crypto/tls prefers AES-GCM or
// ChaCha20 depending on the CPU and the client's order, and in FIPS mode
// allows AES-GCM only (handshake_server_tls13.go); the answer is only
// known (ok) when every one of those choices has the same hash.
func serverSuiteHash(suites []uint16) (hash int, ok bool) {
	orders := [][]uint16{
		{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256},
		{tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384},
		{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384},
	}
	for _, order := range orders {
		i := slices.IndexFunc(order, func(id uint16) bool { return slices.Contains(suites, id) })
		if i < 0 {
			continue // no suite of this order: that choice fails the handshake
		}
		switch h := hashOf(order[i]); {
		case hash == 0:
			hash = h
		case hash != h:
			return 0, false
		}
	}
	return hash, hash != 0
}

// acceptable mirrors crypto/tls's checkForResumption (Go 1.26) for one
// decrypted session: nil when crypto/tls will resume it. It reads the
// session's fields from its encoding (SessionState.Bytes: version, type,
// cipher suite, creation time, ..., the client's certificates) and
// refuses anything it does not recognise.
func acceptable(s *tls.SessionState, suiteHash int, auth tls.ClientAuthType, now time.Time) error {
	b, err := s.Bytes()
	if err != nil {
		return err
	}
	in := cryptobyte.String(b)
	var version, suite uint16
	var typ, ems, early uint8
	var created uint64
	var secret, extra, certs cryptobyte.String
	if !in.ReadUint16(&version) || !in.ReadUint8(&typ) || !in.ReadUint16(&suite) || !in.ReadUint64(&created) ||
		!in.ReadUint8LengthPrefixed(&secret) || !in.ReadUint24LengthPrefixed(&extra) ||
		!in.ReadUint8(&ems) || !in.ReadUint8(&early) || !in.ReadUint24LengthPrefixed(&certs) {
		return errors.New("session encoding not recognised")
	}
	switch {
	case version != tls.VersionTLS13:
		return fmt.Errorf("session version %#x", version)
	case typ != 1:
		return errors.New("not a server session")
	case created > uint64(now.Unix()) || now.Sub(time.Unix(int64(created), 0)) > maxSessionLifetime-clockMargin:
		return errors.New("session outside its lifetime")
	case hashOf(suite) == 0 || hashOf(suite) != suiteHash:
		return fmt.Errorf("session cipher suite %#04x", suite)
	}
	hasCerts := !certs.Empty()
	switch {
	case !hasCerts && (auth == tls.RequireAnyClientCert || auth == tls.RequireAndVerifyClientCert):
		return errors.New("session without the client certificate the configuration requires")
	case hasCerts && auth == tls.NoClientCert:
		return errors.New("session with a client certificate the configuration does not request")
	case hasCerts && auth >= tls.VerifyClientCertIfGiven:
		// crypto/tls re-checks the verified chains; Resumer does not
		// mirror chain verification, so it keeps the hybrid exchange.
		return errors.New("session with verified chains")
	}
	if hasCerts {
		var leaf cryptobyte.String
		if !certs.ReadUint24LengthPrefixed(&leaf) {
			return errors.New("session certificate encoding not recognised")
		}
		notAfter, err := notAfter(leaf)
		if err != nil {
			return err
		}
		if now.Add(clockMargin).After(notAfter) {
			return errors.New("session's client certificate has expired")
		}
	}
	return nil
}

// notAfter reads validity.notAfter from a DER certificate (RFC 5280
// §4.1) without parsing the rest. It reads the two DER forms RFC 5280
// §4.1.2.5 allows, UTCTime YYMMDDHHMMSSZ (years 1950–2049) and
// GeneralizedTime YYYYMMDDHHMMSSZ, digit by digit (time.Parse would cost
// more than the rest of the decision); anything else is an error, which
// keeps the hybrid exchange.
func notAfter(der cryptobyte.String) (time.Time, error) {
	var cert, tbs, validity, v cryptobyte.String
	var tag cbasn1.Tag
	if !der.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipASN1(cbasn1.INTEGER) || !tbs.SkipASN1(cbasn1.SEQUENCE) || // serial, signature
		!tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.ReadASN1(&validity, cbasn1.SEQUENCE) || // issuer
		!validity.SkipASN1(cbasn1.UTCTime) && !validity.SkipASN1(cbasn1.GeneralizedTime) || // notBefore
		!validity.ReadAnyASN1(&v, &tag) {
		return time.Time{}, errors.New("session certificate: validity not found")
	}
	if t, ok := derTime(tag, v); ok {
		return t, nil
	}
	return time.Time{}, errors.New("session certificate: notAfter not readable")
}

// derTime parses a UTCTime or GeneralizedTime in the DER form of RFC
// 5280 §4.1.2.5.
func derTime(tag cbasn1.Tag, v []byte) (time.Time, bool) {
	var year int
	switch {
	case tag == cbasn1.UTCTime && len(v) == 13:
		yy := digits(v[:2])
		if yy < 0 {
			return time.Time{}, false
		}
		year = 1900 + yy
		if yy < 50 {
			year = 2000 + yy
		}
		v = v[2:]
	case tag == cbasn1.GeneralizedTime && len(v) == 15:
		year = digits(v[:4])
		v = v[4:]
	default:
		return time.Time{}, false
	}
	if v[10] != 'Z' || year < 0 {
		return time.Time{}, false
	}
	mon, day, h, m, sec := digits(v[0:2]), digits(v[2:4]), digits(v[4:6]), digits(v[6:8]), digits(v[8:10])
	if mon < 1 || mon > 12 || day < 1 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(mon), day, h, m, sec, 0, time.UTC)
	return t, t.Day() == day // not normalised from 31 April
}

// digits is the decimal value of b, or -1 if b has a non-digit.
func digits(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
