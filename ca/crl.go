package ca

// CRL encoding (RFC 5280 §5). The DER is written by hand into one growing
// buffer: a CRL of a million entries is ~37 MB of DER, and building a
// million Go structs for encoding/asn1 would cost far more time and memory
// than the bytes themselves.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"time"
)

// CRLEntry is one revoked certificate on a CRL (RFC 5280 §5.1.2.6, §5.3).
type CRLEntry struct {
	// Serial is the certificate's serial number as an unsigned big-endian
	// integer (leading zero bytes are ignored). BuildCRL copies it before
	// asking for the next entry, so a producer may reuse the slice.
	Serial    []byte
	RevokedAt time.Time
	// Reason is the RFC 5280 CRLReason code. Unspecified (0) is written
	// without a reasonCode extension, as RFC 5280 §5.3.1 asks.
	Reason int
	// InvalidityDate is when the key is known or suspected to have been
	// compromised (§5.3.2); zero for none.
	InvalidityDate time.Time
}

// CRLTemplate holds the fields of a CRL other than its entries.
type CRLTemplate struct {
	// Number is the CRL number (§5.2.3); it must be positive.
	Number int64
	// ThisUpdate and NextUpdate bound the CRL's validity (§5.1.2.4-5).
	// NextUpdate is required: RFC 5280 conforming issuers always set it.
	ThisUpdate, NextUpdate time.Time
	// DeltaBase, when positive, makes this a delta CRL whose critical
	// deltaCRLIndicator names that base CRL number (§5.2.4).
	DeltaBase int64
	// FreshestCRL lists the URLs where the delta CRLs for this (full) CRL
	// are published (§5.2.6); empty for none.
	FreshestCRL []string
	// Rand is the entropy source for signing; nil means crypto/rand.
	Rand io.Reader
}

// Object identifiers, pre-encoded as DER (tag, length, value).
var (
	crlOIDAuthorityKeyID    = []byte{0x06, 0x03, 0x55, 0x1d, 0x23}
	crlOIDCRLNumber         = []byte{0x06, 0x03, 0x55, 0x1d, 0x14}
	crlOIDDeltaCRLIndicator = []byte{0x06, 0x03, 0x55, 0x1d, 0x1b}
	crlOIDFreshestCRL       = []byte{0x06, 0x03, 0x55, 0x1d, 0x2e}

	// AlgorithmIdentifiers (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3).
	crlAlgECDSASHA256 = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}
	crlAlgECDSASHA384 = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}
	crlAlgECDSASHA512 = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}
	crlAlgRSASHA256   = []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}
	crlAlgEd25519     = []byte{0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70}
)

// crlSigAlg picks the signature algorithm for the signer's key: the hash
// grows with the curve, as crypto/x509 and RFC 5480 §4 pair them.
func crlSigAlg(pub crypto.PublicKey) (alg []byte, hash crypto.Hash, err error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crlAlgECDSASHA256, crypto.SHA256, nil
		case elliptic.P384():
			return crlAlgECDSASHA384, crypto.SHA384, nil
		case elliptic.P521():
			return crlAlgECDSASHA512, crypto.SHA512, nil
		}
		return nil, 0, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		return crlAlgRSASHA256, crypto.SHA256, nil
	case ed25519.PublicKey:
		return crlAlgEd25519, 0, nil
	}
	return nil, 0, fmt.Errorf("unsupported signing key type %T", pub)
}

// BuildCRL encodes and signs an RFC 5280 v2 CRL. The entries are consumed
// once, in order, and may come straight from the store; the first error
// they yield stops the build and is returned. Entries are written sorted by
// serial number (already sorted input costs nothing extra); a serial listed
// twice is an error.
func BuildCRL(issuer *x509.Certificate, signer crypto.Signer, t CRLTemplate, entries iter.Seq2[CRLEntry, error]) ([]byte, error) {
	if issuer == nil || signer == nil {
		return nil, errors.New("build CRL: issuer certificate and signer are required")
	}
	if t.Number <= 0 {
		return nil, fmt.Errorf("build CRL: CRL number must be positive, got %d", t.Number)
	}
	if t.ThisUpdate.IsZero() || t.NextUpdate.IsZero() {
		return nil, errors.New("build CRL: thisUpdate and nextUpdate are required")
	}
	if !t.NextUpdate.After(t.ThisUpdate) {
		return nil, fmt.Errorf("build CRL: nextUpdate %s is not after thisUpdate %s", t.NextUpdate.UTC().Format(time.RFC3339), t.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if t.DeltaBase < 0 || (t.DeltaBase > 0 && t.DeltaBase >= t.Number) {
		return nil, fmt.Errorf("build CRL: delta base CRL number %d must be positive and below the CRL number %d", t.DeltaBase, t.Number)
	}
	if issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return nil, fmt.Errorf("build CRL: the CA certificate %q lacks cRLSign in keyUsage, so relying parties would reject its CRLs; reissue the CA with cRLSign", issuer.Subject)
	}
	pub := signer.Public()
	if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(issuer.PublicKey) {
		return nil, errors.New("build CRL: the signing key does not belong to the CA certificate")
	}
	alg, hash, err := crlSigAlg(pub)
	if err != nil {
		return nil, fmt.Errorf("build CRL: %w", err)
	}

	// revokedCertificates, entry by entry, into 1 MiB chunks: a million
	// entries never trigger a grow-and-copy of the whole list.
	var (
		chunks  [][]byte
		cur     []byte
		listLen int
		sorted  = true
		last    []byte // previous entry's serial (normalised)
		count   int
	)
	if entries != nil {
		for e, err := range entries {
			if err != nil {
				return nil, fmt.Errorf("build CRL: reading revoked certificates: %w", err)
			}
			serial := crlTrimSerial(e.Serial)
			if e.Reason < 0 || e.Reason > ReasonAACompromise || e.Reason == 7 {
				return nil, fmt.Errorf("build CRL: serial %X: %d is not an RFC 5280 reason code", serial, e.Reason)
			}
			if e.RevokedAt.IsZero() {
				return nil, fmt.Errorf("build CRL: serial %X has no revocation date", serial)
			}
			if len(serial) > 20 {
				return nil, fmt.Errorf("build CRL: serial %X is longer than 20 octets", serial)
			}
			if count > 0 {
				switch c := crlCompareSerial(last, serial); {
				case c == 0:
					return nil, fmt.Errorf("build CRL: serial %X is listed twice", serial)
				case c > 0:
					sorted = false
				}
			}
			if cap(cur)-len(cur) < crlMaxEntryLen {
				if len(cur) > 0 {
					chunks = append(chunks, cur)
				}
				cur = make([]byte, 0, crlChunkSize)
			}
			n := len(cur)
			cur = crlAppendEntry(cur, serial, e)
			listLen += len(cur) - n
			last = append(last[:0], serial...)
			count++
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	if !sorted {
		list := make([]byte, 0, listLen)
		for _, c := range chunks {
			list = append(list, c...)
		}
		list, err = crlSortEntries(list)
		if err != nil {
			return nil, fmt.Errorf("build CRL: %w", err)
		}
		chunks = [][]byte{list}
	}

	exts, err := crlExtensions(issuer, t)
	if err != nil {
		return nil, fmt.Errorf("build CRL: %w", err)
	}

	// TBSCertList (§5.1.2), written once into the buffer that becomes the
	// CertificateList: room for its header is left in front, room for the
	// signature behind.
	var head []byte
	head = append(head, 0x02, 0x01, 0x01) // version v2
	head = append(head, alg...)
	head = append(head, issuer.RawSubject...)
	head = crlAppendTime(head, t.ThisUpdate)
	head = crlAppendTime(head, t.NextUpdate)
	bodyLen := len(head) + len(exts)
	if listLen > 0 {
		bodyLen += crlHeaderLen(listLen) + listLen
	}
	const pre = 6 // the longest header crlAppendHeader writes
	tbsLen := crlHeaderLen(bodyLen) + bodyLen
	buf := make([]byte, pre, pre+tbsLen+len(alg)+crlMaxSigLen)
	buf = crlAppendHeader(buf, 0x30, bodyLen)
	buf = append(buf, head...)
	if listLen > 0 {
		buf = crlAppendHeader(buf, 0x30, listLen)
		for i, c := range chunks {
			buf = append(buf, c...)
			chunks[i] = nil // let the entries go before signing allocates
		}
	}
	buf = append(buf, exts...)

	sig, err := crlSign(signer, hash, buf[pre:], t.Rand)
	if err != nil {
		return nil, fmt.Errorf("build CRL: signing: %w", err)
	}

	// CertificateList (§5.1.1).
	outLen := tbsLen + len(alg) + crlHeaderLen(len(sig)+1) + len(sig) + 1
	buf = append(buf, alg...)
	buf = crlAppendHeader(buf, 0x03, len(sig)+1)
	buf = append(buf, 0x00) // no unused bits
	buf = append(buf, sig...)
	start := pre - crlHeaderLen(outLen)
	crlAppendHeader(buf[start:start], 0x30, outLen) // fills the room left in front
	return buf[start:], nil
}

const (
	crlChunkSize = 1 << 20
	// crlMaxEntryLen bounds one encoded entry: header 3, serial 23,
	// revocationDate 17, extensions 2 + 12 + 26.
	crlMaxEntryLen = 96
	// crlMaxSigLen is room for the signature BIT STRING of keys up to
	// RSA-8192; a longer one only costs a copy.
	crlMaxSigLen = 1040
)

func crlSign(signer crypto.Signer, hash crypto.Hash, tbs []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if hash == 0 { // Ed25519 signs the message itself
		return signer.Sign(rnd, tbs, crypto.Hash(0))
	}
	h := hash.New()
	h.Write(tbs)
	digest := h.Sum(nil)
	sig, err := signer.Sign(rnd, digest, hash)
	// An ECDSA signature's DER varies by a few bytes (r and s need a
	// padding byte when their top bit is set). Another signature costs
	// microseconds, so take the shortest form when a few tries find it:
	// the CRL then is never larger than OpenSSL's for the same entries.
	if k, ok := signer.Public().(*ecdsa.PublicKey); ok && err == nil {
		n := (k.Curve.Params().BitSize + 7) / 8
		shortest := 2*(2+n) + crlHeaderLen(2*(2+n))
		for i := 0; i < 8 && len(sig) > shortest; i++ {
			again, err := signer.Sign(rnd, digest, hash)
			if err != nil || bytes.Equal(again, sig) { // a deterministic signer
				break
			}
			if len(again) < len(sig) {
				sig = again
			}
		}
	}
	return sig, err
}

// crlExtensions encodes [0] EXPLICIT Extensions (§5.2).
func crlExtensions(issuer *x509.Certificate, t CRLTemplate) ([]byte, error) {
	var b []byte

	// authorityKeyIdentifier (§5.2.1): keyIdentifier = the issuer's SKI, or
	// RFC 5280 §4.2.1.2 method 1 when an imported CA certificate has none.
	ski := issuer.SubjectKeyId
	if len(ski) == 0 {
		spki := struct {
			Algorithm asn1.RawValue
			Key       asn1.BitString
		}{}
		if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
			return nil, fmt.Errorf("CA public key: %w", err)
		}
		sum := sha1.Sum(spki.Key.Bytes)
		ski = sum[:]
	}
	aki := crlAppendHeader(nil, 0x80, len(ski))
	aki = append(aki, ski...)
	aki = crlWrap(0x30, aki)
	b = crlAppendExtension(b, crlOIDAuthorityKeyID, false, aki)

	// cRLNumber (§5.2.3).
	b = crlAppendExtension(b, crlOIDCRLNumber, false, crlAppendInt(nil, t.Number))

	if t.DeltaBase > 0 {
		// deltaCRLIndicator (§5.2.4), critical.
		b = crlAppendExtension(b, crlOIDDeltaCRLIndicator, true, crlAppendInt(nil, t.DeltaBase))
	}
	if len(t.FreshestCRL) > 0 {
		// freshestCRL (§5.2.6): one DistributionPoint whose fullName holds
		// every URL.
		var names []byte
		for _, u := range t.FreshestCRL {
			names = crlAppendHeader(names, 0x86, len(u)) // [6] uniformResourceIdentifier
			names = append(names, u...)
		}
		dp := crlWrap(0xa0, crlWrap(0xa0, names)) // distributionPoint [0] { fullName [0] }
		b = crlAppendExtension(b, crlOIDFreshestCRL, false, crlWrap(0x30, crlWrap(0x30, dp)))
	}
	return crlWrap(0xa0, crlWrap(0x30, b)), nil
}

var (
	crlEntryReasonPrefix = []byte{0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01}
	crlEntryInvalidity   = []byte{0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11}
)

// crlAppendEntry writes one revokedCertificates element (§5.1.2.6).
func crlAppendEntry(b, serial []byte, e CRLEntry) []byte {
	var tmp [crlMaxEntryLen]byte
	c := tmp[:0]
	if len(serial) == 0 || serial[0]&0x80 != 0 {
		c = append(c, 0x02, byte(len(serial)+1), 0)
	} else {
		c = append(c, 0x02, byte(len(serial)))
	}
	c = append(c, serial...)
	c = crlAppendTime(c, e.RevokedAt)
	extLen := 0
	if e.Reason != ReasonUnspecified {
		extLen += len(crlEntryReasonPrefix) + 1
	}
	if !e.InvalidityDate.IsZero() {
		extLen += len(crlEntryInvalidity) + 17
	}
	if extLen > 0 {
		c = append(c, 0x30, byte(extLen))
		if e.Reason != ReasonUnspecified {
			c = append(c, crlEntryReasonPrefix...)
			c = append(c, byte(e.Reason))
		}
		if !e.InvalidityDate.IsZero() {
			// invalidityDate is always GeneralizedTime (§5.3.2).
			c = append(c, crlEntryInvalidity...)
			c = crlAppendGeneralized(c, e.InvalidityDate)
		}
	}
	b = crlAppendHeader(b, 0x30, len(c))
	return append(b, c...)
}

// crlSortEntries reorders encoded entries by serial number. Each entry
// starts 30 LL [LL..] 02 NN [00] serial.
func crlSortEntries(list []byte) ([]byte, error) {
	type span struct{ start, end int }
	var spans []span
	for off := 0; off < len(list); {
		n, hl := crlReadHeader(list[off:])
		spans = append(spans, span{off, off + hl + n})
		off += hl + n
	}
	serialOf := func(s span) []byte {
		e := list[s.start:s.end]
		_, hl := crlReadHeader(e)
		e = e[hl:]
		n := int(e[1])
		return crlTrimSerial(e[2 : 2+n])
	}
	slices.SortFunc(spans, func(a, b span) int { return crlCompareSerial(serialOf(a), serialOf(b)) })
	out := make([]byte, 0, len(list))
	for i, s := range spans {
		if i > 0 && crlCompareSerial(serialOf(spans[i-1]), serialOf(s)) == 0 {
			return nil, fmt.Errorf("serial %X is listed twice", serialOf(s))
		}
		out = append(out, list[s.start:s.end]...)
	}
	return out, nil
}

// crlReadHeader returns the content length and header length of the DER
// element at the start of b (which this file wrote, so it is well formed).
func crlReadHeader(b []byte) (n, hl int) {
	if b[1] < 0x80 {
		return int(b[1]), 2
	}
	k := int(b[1] & 0x7f)
	for i := 0; i < k; i++ {
		n = n<<8 | int(b[2+i])
	}
	return n, 2 + k
}

func crlTrimSerial(s []byte) []byte {
	for len(s) > 0 && s[0] == 0 {
		s = s[1:]
	}
	return s
}

// crlCompareSerial orders unsigned big-endian integers without leading zeros.
func crlCompareSerial(a, b []byte) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return bytes.Compare(a, b)
}

func crlAppendExtension(b, oid []byte, critical bool, value []byte) []byte {
	n := len(oid) + crlHeaderLen(len(value)) + len(value)
	if critical {
		n += 3
	}
	b = crlAppendHeader(b, 0x30, n)
	b = append(b, oid...)
	if critical {
		b = append(b, 0x01, 0x01, 0xff)
	}
	b = crlAppendHeader(b, 0x04, len(value))
	return append(b, value...)
}

// crlAppendInt writes a non-negative INTEGER.
func crlAppendInt(b []byte, v int64) []byte {
	var tmp [9]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte(v)
		v >>= 8
		if v == 0 {
			break
		}
	}
	if tmp[i]&0x80 != 0 {
		i--
		tmp[i] = 0
	}
	b = append(b, 0x02, byte(len(tmp)-i))
	return append(b, tmp[i:]...)
}

func crlWrap(tag byte, content []byte) []byte {
	b := crlAppendHeader(make([]byte, 0, len(content)+6), tag, len(content))
	return append(b, content...)
}

func crlHeaderLen(n int) int {
	switch {
	case n < 0x80:
		return 2
	case n <= 0xff:
		return 3
	case n <= 0xffff:
		return 4
	case n <= 0xffffff:
		return 5
	}
	return 6
}

// crlAppendHeader writes a tag and the DER length n.
func crlAppendHeader(b []byte, tag byte, n int) []byte {
	return appendLength(append(b, tag), n)
}

// crlAppendTime writes t (in UTC, whole seconds) as UTCTime through 2049
// and GeneralizedTime from 2050 (and before 1950), per §5.1.2.4.
func crlAppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 1950 || y >= 2050 {
		b = append(b, 0x18, 15)
		b = crlAppend2(b, y/100%100)
	} else {
		b = append(b, 0x17, 13)
	}
	b = crlAppend2(b, y%100)
	return crlAppendClock(b, int(mo), d, h, mi, s)
}

func crlAppendGeneralized(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append(b, 0x18, 15)
	b = crlAppend2(b, y/100%100)
	b = crlAppend2(b, y%100)
	return crlAppendClock(b, int(mo), d, h, mi, s)
}

func crlAppendClock(b []byte, mo, d, h, mi, s int) []byte {
	b = crlAppend2(b, mo)
	b = crlAppend2(b, d)
	b = crlAppend2(b, h)
	b = crlAppend2(b, mi)
	b = crlAppend2(b, s)
	return append(b, 'Z')
}

func crlAppend2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// CRLEntryCount returns how many revoked certificates a DER CRL lists,
// reading only element headers (cheap even for a million entries).
func CRLEntryCount(der []byte) (int, error) {
	bad := errors.New("not a DER CRL")
	next := func(b []byte) (tag byte, content, rest []byte, err error) {
		if len(b) < 2 {
			return 0, nil, nil, bad
		}
		n, hl := int(b[1]), 2
		if b[1] >= 0x80 {
			k := int(b[1] & 0x7f)
			if k == 0 || k > 4 || len(b) < 2+k {
				return 0, nil, nil, bad
			}
			n = 0
			for i := 0; i < k; i++ {
				n = n<<8 | int(b[2+i])
			}
			hl = 2 + k
		}
		if n < 0 || len(b)-hl < n {
			return 0, nil, nil, bad
		}
		return b[0], b[hl : hl+n], b[hl+n:], nil
	}
	_, list, _, err := next(der) // CertificateList
	if err != nil {
		return 0, err
	}
	_, tbs, _, err := next(list) // TBSCertList
	if err != nil {
		return 0, err
	}
	// [version,] signature, issuer, thisUpdate, then optional nextUpdate.
	var tag byte
	var el []byte
	if len(tbs) > 0 && tbs[0] == 0x02 {
		if _, _, tbs, err = next(tbs); err != nil {
			return 0, err
		}
	}
	for i := 0; i < 3; i++ {
		if _, _, tbs, err = next(tbs); err != nil {
			return 0, err
		}
	}
	for len(tbs) > 0 {
		if tag, el, tbs, err = next(tbs); err != nil {
			return 0, err
		}
		if tag != 0x30 { // nextUpdate or [0] extensions
			continue
		}
		count := 0
		for len(el) > 0 {
			if _, _, el, err = next(el); err != nil {
				return 0, err
			}
			count++
		}
		return count, nil
	}
	return 0, nil
}
