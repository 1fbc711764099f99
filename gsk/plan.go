package gsk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pkid/pkid/internal/tlsregistry"
)

// KeyType is the public key type of the System SSL endpoint's certificate.
// It decides which TLS 1.2 suites can work: an EC certificate needs
// ECDHE_ECDSA suites, an RSA certificate ECDHE_RSA or DHE_RSA ones.
type KeyType string

// Certificate key types Plan supports.
const (
	KeyEC  KeyType = "EC"
	KeyRSA KeyType = "RSA"
)

// Role says which side of the connection the System SSL endpoint plays; it
// decides between the GSK_SERVER_* and GSK_CLIENT_* variables.
type Role int

// Roles.
const (
	RoleBoth Role = iota
	RoleServer
	RoleClient
)

// Peer is what the other side accepts, as a scan of it reports (the
// doctor's scanner fills this in). Empty fields mean "not known".
type Peer struct {
	Versions         []tlsregistry.Version
	Suites           []uint16
	Groups           []uint16
	SignatureSchemes []uint16
}

// PlanRequest describes the endpoint to plan for.
type PlanRequest struct {
	KeyType KeyType
	// Curve is the EC certificate's curve ("P-256", "P-384", "P-521"); it
	// decides the TLS 1.3 signature scheme the certificate signs with.
	Curve string
	// CertSignature is the code of the signature algorithm on the
	// certificate itself (0x0403 for ecdsa-with-SHA256), 0 if unknown. The
	// peer needs it in its signature algorithms to validate the certificate.
	CertSignature uint16
	// Versions to enable; nil means TLS 1.2 and TLS 1.3.
	Versions []tlsregistry.Version
	Role     Role
	// Peer, when known, narrows every list to what the peer accepts.
	Peer *Peer
}

// EnvLine is one NAME=VALUE line of a System SSL environment file.
type EnvLine struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Comment string `json:"comment,omitempty"`
}

// EnvPlan is the set of environment lines Plan recommends.
type EnvPlan struct {
	Lines []EnvLine `json:"lines"`
	Notes []string  `json:"notes,omitempty"`
}

// String renders the plan as environment-file text: a comment with what
// each line means, then the line.
func (p *EnvPlan) String() string {
	var b strings.Builder
	for _, l := range p.Lines {
		if l.Comment != "" {
			fmt.Fprintf(&b, "# %s\n", l.Comment)
		}
		fmt.Fprintf(&b, "%s=%s\n", l.Name, l.Value)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	return b.String()
}

// Candidate lists, strongest first: the order is the preference order
// GSKit uses, and the blog's lesson is that a weak suite listed first wins.
// They hold suites that z/OS System SSL documents support for (as far as
// pkid knows; see the package README for what could not be verified).
var (
	planTLS13Suites = []uint16{0x1302, 0x1301, 0x1303}
	planSuites      = map[KeyType][]uint16{
		KeyEC:  {0xC02C, 0xC02B},
		KeyRSA: {0xC030, 0xC02F, 0x009F, 0x009E},
	}
	// fallbackSuites are used only when a scanned peer shares none of the
	// above; they are weak (CBC) and the plan says so.
	fallbackSuites = map[KeyType][]uint16{
		KeyEC:  {0xC024, 0xC023, 0xC00A, 0xC009},
		KeyRSA: {0xC028, 0xC027, 0xC014, 0xC013, 0x006B, 0x0067, 0x0039, 0x0033, 0x0035, 0x002F},
	}
	planKeyShares = []uint16{29, 23, 24, 25, 30}
	planCurves    = []uint16{29, 23, 24, 25}
	// Signature pairs: those our key signs with come first; the rest let us
	// validate peers and CAs of the other key type.
	planSigsEC  = []uint16{0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601}
	planSigsRSA = []uint16{0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0403, 0x0503, 0x0603}
)

// ErrNoShared is wrapped by Plan's error when the peer shares nothing the
// endpoint can use in some list.
var ErrNoShared = errors.New("nothing in common with the peer")

// KeyTypeOf returns the KeyType and curve of a certificate, and its own
// signature algorithm as a TLS code.
func KeyTypeOf(cert *x509.Certificate) (PlanRequest, error) {
	var r PlanRequest
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		r.KeyType = KeyEC
		switch k.Curve {
		case elliptic.P256():
			r.Curve = "P-256"
		case elliptic.P384():
			r.Curve = "P-384"
		case elliptic.P521():
			r.Curve = "P-521"
		default:
			return r, fmt.Errorf("certificate %q has an EC key on an unsupported curve", cert.Subject)
		}
	case *rsa.PublicKey:
		r.KeyType = KeyRSA
	default:
		return r, fmt.Errorf("certificate %q has a %T key; System SSL plans cover RSA and EC (ECDSA) certificates", cert.Subject, cert.PublicKey)
	}
	r.CertSignature = map[x509.SignatureAlgorithm]uint16{
		x509.SHA1WithRSA: 0x0201, x509.SHA256WithRSA: 0x0401, x509.SHA384WithRSA: 0x0501, x509.SHA512WithRSA: 0x0601,
		x509.ECDSAWithSHA1: 0x0203, x509.ECDSAWithSHA256: 0x0403, x509.ECDSAWithSHA384: 0x0503, x509.ECDSAWithSHA512: 0x0603,
		x509.SHA256WithRSAPSS: 0x0804, x509.SHA384WithRSAPSS: 0x0805, x509.SHA512WithRSAPSS: 0x0806,
		x509.PureEd25519: 0x0807,
	}[cert.SignatureAlgorithm]
	return r, nil
}

// Plan returns the GSKit environment lines that let a System SSL endpoint
// with a certificate of req.KeyType interoperate over TLS 1.2 and/or 1.3,
// narrowed to what req.Peer accepts when given. When the peer shares no
// usable suite, group or signature algorithm, the error (wrapping
// ErrNoShared) says what the peer offers and what to change.
func Plan(req PlanRequest) (*EnvPlan, error) {
	if req.KeyType != KeyEC && req.KeyType != KeyRSA {
		return nil, fmt.Errorf("key type %q: plan supports EC and RSA certificates", req.KeyType)
	}
	want := req.Versions
	if len(want) == 0 {
		want = []tlsregistry.Version{tlsregistry.TLS12, tlsregistry.TLS13}
	}
	for _, v := range want {
		if v != tlsregistry.TLS12 && v != tlsregistry.TLS13 {
			return nil, fmt.Errorf("%v: plan enables only TLS 1.2 and TLS 1.3 (older versions are deprecated by RFC 8996)", v)
		}
	}
	p := &EnvPlan{}
	peer := req.Peer
	if peer != nil && len(peer.Versions) > 0 {
		var both []tlsregistry.Version
		for _, v := range want {
			if slices.Contains(peer.Versions, v) {
				both = append(both, v)
			} else {
				p.Notes = append(p.Notes, fmt.Sprintf("the peer does not accept %v; leaving it off", v))
			}
		}
		if len(both) == 0 {
			return nil, fmt.Errorf("%w: the peer accepts %s, the plan only enables TLS 1.2 and 1.3; upgrade the peer", ErrNoShared, versionList(peer.Versions))
		}
		want = both
	}
	tls12, tls13 := slices.Contains(want, tlsregistry.TLS12), slices.Contains(want, tlsregistry.TLS13)

	// Suites.
	var suites []uint16
	if tls13 {
		s13 := intersect(planTLS13Suites, peerList(peer, func(p *Peer) []uint16 { return p.Suites }))
		if len(s13) == 0 {
			if !tls12 {
				return nil, fmt.Errorf("%w: the peer accepts no TLS 1.3 suite that System SSL offers (%s)", ErrNoShared, suiteList(planTLS13Suites))
			}
			p.Notes = append(p.Notes, "the peer shares no TLS 1.3 suite; TLS 1.3 left off")
			tls13 = false
		}
		suites = append(suites, s13...)
	}
	if tls12 {
		s12 := intersect(planSuites[req.KeyType], peerList(peer, func(p *Peer) []uint16 { return p.Suites }))
		if len(s12) == 0 && peer != nil {
			s12 = intersect(fallbackSuites[req.KeyType], peer.Suites)
			if len(s12) > 0 {
				p.Notes = append(p.Notes, fmt.Sprintf("the peer shares only weak (CBC) TLS 1.2 suites with a %s certificate: %s; ask for AEAD suites on the peer", req.KeyType, suiteList(s12)))
			}
		}
		if len(s12) == 0 {
			if !tls13 {
				return nil, noSharedSuite(req.KeyType, peer)
			}
			p.Notes = append(p.Notes, "TLS 1.2: "+noSharedSuite(req.KeyType, peer).Error()+"; TLS 1.2 left off")
			tls12 = false
		}
		suites = append(suites, s12...)
	}
	if !tls12 && !tls13 {
		return nil, noSharedSuite(req.KeyType, peer)
	}

	// Signature algorithms.
	sigs := slices.Clone(planSigsRSA)
	if req.KeyType == KeyEC {
		sigs = slices.Clone(planSigsEC)
		own := map[string]uint16{"P-256": 0x0403, "P-384": 0x0503, "P-521": 0x0603}[req.Curve]
		if own != 0 {
			sigs = append([]uint16{own}, slices.DeleteFunc(sigs, func(c uint16) bool { return c == own })...)
		}
	}
	if req.CertSignature != 0 && !slices.Contains(sigs, req.CertSignature) {
		sigs = append(sigs, req.CertSignature)
		if s, ok := tlsregistry.SignatureSchemeByCode(req.CertSignature); ok && s.Verdict != tlsregistry.Fine {
			p.Notes = append(p.Notes, fmt.Sprintf("the certificate is signed with %s (%s); reissue it with SHA-256 or better", s.Name, s.Reason))
		}
	}
	if peer != nil && len(peer.SignatureSchemes) > 0 {
		if err := checkPeerSigs(req, sigs, peer.SignatureSchemes, tls13); err != nil {
			return nil, err
		}
		if req.CertSignature != 0 && !slices.Contains(peer.SignatureSchemes, req.CertSignature) {
			p.Notes = append(p.Notes, fmt.Sprintf("the peer does not list %s, the algorithm the certificate is signed with; it may reject the certificate (alert 42)", sigName(req.CertSignature)))
		}
	}

	// Groups.
	var shares, curves []uint16
	if tls13 {
		shares = intersect(planKeyShares, peerList(peer, func(p *Peer) []uint16 { return p.Groups }))
		if len(shares) == 0 {
			return nil, fmt.Errorf("%w: the peer accepts no key share group System SSL offers (x25519, secp256r1, secp384r1, secp521r1, x448); it accepts %s", ErrNoShared, groupList(peer.Groups))
		}
	}
	if tls12 {
		curves = intersect(planCurves, peerList(peer, func(p *Peer) []uint16 { return p.Groups }))
		if len(curves) == 0 {
			p.Notes = append(p.Notes, "the peer accepts none of x25519, secp256r1, secp384r1, secp521r1 for TLS 1.2 ECDHE")
			curves = planCurves
		}
	}

	onOff := map[bool]string{true: "on", false: "off"}
	p.Lines = append(p.Lines,
		EnvLine{Name: "GSK_PROTOCOL_SSLV3", Value: "off", Comment: "SSL 3.0 is broken (RFC 7568)"},
		EnvLine{Name: "GSK_PROTOCOL_TLSV1", Value: "off", Comment: "TLS 1.0 and 1.1 are deprecated (RFC 8996)"},
		EnvLine{Name: "GSK_PROTOCOL_TLSV1_1", Value: "off"},
		EnvLine{Name: "GSK_PROTOCOL_TLSV1_2", Value: onOff[tls12]},
		EnvLine{Name: "GSK_PROTOCOL_TLSV1_3", Value: onOff[tls13]},
		EnvLine{Name: "GSK_V3_CIPHER_SPECS_EXPANDED", Value: hex4(suites), Comment: suiteList(suites)},
		EnvLine{Name: "GSK_TLS_SIG_ALG_PAIRS", Value: hex4(sigs), Comment: sigList(sigs)},
	)
	for _, side := range sides(req.Role) {
		if tls13 {
			p.Lines = append(p.Lines, EnvLine{Name: "GSK_" + side + "_TLS_KEY_SHARES", Value: dec4(shares), Comment: groupList(shares)})
		}
		if tls12 {
			p.Lines = append(p.Lines, EnvLine{Name: "GSK_" + side + "_ECURVE_LIST", Value: dec4(curves), Comment: groupList(curves)})
		}
	}
	if tls13 {
		p.Notes = append(p.Notes, "z/OS LDAP: TLS 1.3 also needs sslCipherSpecs GSK_V3_CIPHER_SPECS_EXPANDED and sslFipsState off in the server configuration")
	}
	return p, nil
}

func sides(r Role) []string {
	switch r {
	case RoleServer:
		return []string{"SERVER"}
	case RoleClient:
		return []string{"CLIENT"}
	}
	return []string{"SERVER", "CLIENT"}
}

func peerList(p *Peer, f func(*Peer) []uint16) []uint16 {
	if p == nil {
		return nil
	}
	return f(p)
}

// intersect keeps ours in our order, narrowed to theirs when theirs is known.
func intersect(ours, theirs []uint16) []uint16 {
	if theirs == nil {
		return slices.Clone(ours)
	}
	var out []uint16
	for _, c := range ours {
		if slices.Contains(theirs, c) {
			out = append(out, c)
		}
	}
	return out
}

// noSharedSuite explains the blog's alert 80 / reason 434 case and its
// mirror image.
func noSharedSuite(k KeyType, peer *Peer) error {
	other := map[KeyType]string{KeyEC: "RSA", KeyRSA: "EC"}[k]
	auth := map[KeyType]string{KeyEC: "ECDSA", KeyRSA: "RSA"}[k]
	var theirs []uint16
	if peer != nil {
		theirs = peer.Suites
	}
	mismatch := false
	for _, c := range theirs {
		if s, ok := tlsregistry.SuiteByCode(c); ok && !s.TLS13() && s.Auth != auth && s.Auth != "any" {
			mismatch = true
		}
	}
	msg := fmt.Sprintf("the peer accepts no TLS 1.2 suite a %s certificate can use (%s authentication); it accepts %s", k, auth, suiteList(theirs))
	if mismatch {
		msg += fmt.Sprintf(". Its suites need an %s certificate: System SSL fails such handshakes with alert 80 (internal_error, reason 434). Use an %s certificate, or enable ECDHE-%s suites on the peer", other, other, auth)
	}
	return fmt.Errorf("%w: %s", ErrNoShared, msg)
}

func checkPeerSigs(req PlanRequest, ours, theirs []uint16, tls13 bool) error {
	can := func(c uint16) bool {
		s, ok := tlsregistry.SignatureSchemeByCode(c)
		if !ok {
			return false
		}
		if req.KeyType == KeyEC {
			return s.KeyType == "EC"
		}
		return s.KeyType == "RSA"
	}
	for _, c := range theirs {
		if can(c) && slices.Contains(ours, c) {
			return nil
		}
	}
	return fmt.Errorf("%w: the peer accepts no signature algorithm a %s key can make; it accepts %s", ErrNoShared, req.KeyType, sigList(theirs))
}

func hex4(cs []uint16) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%04X", c)
	}
	return b.String()
}

func dec4(cs []uint16) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%04d", c)
	}
	return b.String()
}

func suiteList(cs []uint16) string {
	if len(cs) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range cs {
		if s, ok := tlsregistry.SuiteByCode(c); ok {
			parts = append(parts, fmt.Sprintf("%04X %s", c, s.Name))
		} else {
			parts = append(parts, fmt.Sprintf("%04X unknown", c))
		}
	}
	return strings.Join(parts, ", ")
}

func sigName(c uint16) string {
	if s, ok := tlsregistry.SignatureSchemeByCode(c); ok {
		return fmt.Sprintf("%04X %s", c, s.Name)
	}
	return fmt.Sprintf("%04X unknown", c)
}

func sigList(cs []uint16) string {
	if len(cs) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, sigName(c))
	}
	return strings.Join(parts, ", ")
}

func groupList(cs []uint16) string {
	if len(cs) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range cs {
		if g, ok := tlsregistry.GroupByID(c); ok {
			parts = append(parts, fmt.Sprintf("%04d %s", c, g.Name))
		} else {
			parts = append(parts, fmt.Sprintf("%d unknown", c))
		}
	}
	return strings.Join(parts, ", ")
}

func versionList(vs []tlsregistry.Version) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, v.String())
	}
	return strings.Join(parts, ", ")
}
