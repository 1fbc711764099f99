package lint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"math/big"
	"reflect"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	zl "github.com/zmap/zlint/v3/lint"
)

// smallKeyLint is the zlint lint that pkid runs through smallKeyCheck.
const smallKeyLint = "e_ecdsa_small_private_key"

// smallKeyMaxBits bounds the Bits setting smallKeyCheck serves; above it
// zlint's own search runs. A table of 2^Bits points per curve is built
// once (256 points at pkid's setting of 8).
const smallKeyMaxBits = 10

// smallKeyCheck gives the result of zlint's e_ecdsa_small_private_key
// (Execute, after its own CheckApplies said yes) with one table lookup
// instead of zlint's baby-step giant-step walk, which converts between
// big.Int and curve points for every step (about 20 µs per P-256
// certificate, the costliest lint at issuance).
//
// zlint reports the key when its private scalar d, or n-d, is in
// 1..2^Bits; d*G and (n-d)*G = -(d*G) share their X coordinate, so the key
// is weak exactly when its X is the X of one of 1*G .. (2^Bits)*G. The
// table holds those X coordinates in full (zlint keeps 64 bits and
// confirms), and the result carries zlint's own status and wording:
// TestSmallKeyMatchesZlint compares the two on every weak key of every
// curve and on keys just outside the range.
type smallKeyCheck struct {
	bits int
}

// newSmallKeyCheck returns the fast check for a configured instance of the
// zlint lint, or nil when it cannot stand in for it (an unknown lint type
// after a zlint upgrade, a Bits setting out of its range).
func newSmallKeyCheck(l zl.CertificateLintInterface) *smallKeyCheck {
	v := reflect.ValueOf(l)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Bits")
	if !f.IsValid() || f.Kind() != reflect.Int {
		return nil
	}
	bits := int(f.Int())
	// Outside zlint's range zlint reports a configuration error: let it.
	if bits < 2 || bits > smallKeyMaxBits {
		return nil
	}
	return &smallKeyCheck{bits: bits}
}

// execute returns the lint's result, or nil when the key's curve has no
// table (the caller then runs zlint's Execute).
func (s *smallKeyCheck) execute(c *zx509.Certificate) *zl.LintResult {
	var pub *ecdsa.PublicKey
	switch k := c.PublicKey.(type) {
	case *zx509.AugmentedECDSA:
		pub = k.Pub
	case *ecdsa.PublicKey:
		pub = k
	}
	if pub == nil || pub.Curve == nil || pub.X == nil {
		return nil
	}
	t := smallKeyTableFor(pub.Curve, s.bits)
	if t == nil {
		return nil
	}
	var buf [66]byte // P-521's field is 66 bytes
	if pub.X.Sign() < 0 || pub.X.BitLen() > 8*t.size {
		return &resultPass
	}
	d, ok := t.logByX[string(pub.X.FillBytes(buf[:t.size]))]
	if !ok {
		return &resultPass
	}
	return &zl.LintResult{
		Status: zl.Error,
		Details: fmt.Sprintf("the ECDSA private key is %s, or its negation modulo the group order, and so can be trivially recovered by anyone",
			big.NewInt(int64(d))),
	}
}

// resultPass is the shared result of a lint that passed.
var resultPass = zl.LintResult{Status: zl.Pass}

// smallKeyTable maps the X coordinates (big-endian, size bytes) of 1*G ..
// (2^bits)*G to their discrete logarithm.
type smallKeyTable struct {
	size   int
	logByX map[string]int
}

type smallKeyTableKey struct {
	curve elliptic.Curve
	bits  int
}

var smallKeyTables sync.Map // smallKeyTableKey -> *smallKeyTableEntry

type smallKeyTableEntry struct {
	once sync.Once
	t    *smallKeyTable
}

// smallKeyTableFor returns the table for one of the standard NIST curves
// crypto/elliptic provides, built on first use; nil for any other curve.
func smallKeyTableFor(curve elliptic.Curve, bits int) *smallKeyTable {
	switch curve {
	case elliptic.P224(), elliptic.P256(), elliptic.P384(), elliptic.P521():
	default:
		return nil
	}
	e, _ := smallKeyTables.LoadOrStore(smallKeyTableKey{curve, bits}, &smallKeyTableEntry{})
	entry := e.(*smallKeyTableEntry)
	entry.once.Do(func() {
		p := curve.Params()
		size := (p.BitSize + 7) / 8
		n := 1 << bits
		t := &smallKeyTable{size: size, logByX: make(map[string]int, n)}
		x, y := new(big.Int).Set(p.Gx), new(big.Int).Set(p.Gy)
		for j := 1; j <= n; j++ {
			t.logByX[string(x.FillBytes(make([]byte, size)))] = j
			if j < n {
				x, y = curve.Add(x, y, p.Gx, p.Gy)
			}
		}
		entry.t = t
	})
	return entry.t
}
