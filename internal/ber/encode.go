package ber

// Encoder appends BER elements to a byte slice. Constructed elements are
// opened with Begin and closed with End, which back-patches the length:
// Begin reserves one length octet and End shifts the content right in the
// rare case the length needs the long form, so encoding allocates only
// when the destination slice grows.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an encoder that appends to dst.
func NewEncoder(dst []byte) *Encoder { return &Encoder{buf: dst} }

// Bytes returns the encoded bytes (dst with the elements appended).
func (e *Encoder) Bytes() []byte { return e.buf }

// Reset makes the encoder append to dst from now on.
func (e *Encoder) Reset(dst []byte) { e.buf = dst }

// Begin opens a constructed element with tag and returns the mark End needs.
func (e *Encoder) Begin(tag byte) int {
	e.buf = append(e.buf, tag|Constructed, 0)
	return len(e.buf)
}

// End closes the constructed element opened by the Begin that returned mark.
func (e *Encoder) End(mark int) {
	n := len(e.buf) - mark
	if n < 0x80 {
		e.buf[mark-1] = byte(n)
		return
	}
	k := lengthOctets(n)
	// Grow by k, move the content right, write the long-form length.
	for range k {
		e.buf = append(e.buf, 0)
	}
	copy(e.buf[mark+k:], e.buf[mark:mark+n])
	e.buf[mark-1] = 0x80 | byte(k)
	putLength(e.buf[mark:mark+k], n)
}

func lengthOctets(n int) int {
	k := 1
	for v := n >> 8; v > 0; v >>= 8 {
		k++
	}
	return k
}

func putLength(b []byte, n int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
}

// header appends tag and the minimal definite length n.
func (e *Encoder) header(tag byte, n int) {
	if n < 0x80 {
		e.buf = append(e.buf, tag, byte(n))
		return
	}
	k := lengthOctets(n)
	e.buf = append(e.buf, tag, 0x80|byte(k))
	l := len(e.buf)
	for range k {
		e.buf = append(e.buf, 0)
	}
	putLength(e.buf[l:], n)
}

// OctetString appends a primitive element with tag and content v.
func (e *Encoder) OctetString(tag byte, v []byte) {
	e.header(tag, len(v))
	e.buf = append(e.buf, v...)
}

// String appends a primitive element with tag and content s.
func (e *Encoder) String(tag byte, s string) {
	e.header(tag, len(s))
	e.buf = append(e.buf, s...)
}

// Int appends an INTEGER (or ENUMERATED, or implicitly tagged integer) in
// the minimal two's-complement form.
func (e *Encoder) Int(tag byte, v int64) {
	n := 1
	for n < 8 {
		// Stop when the top n bytes' sign extension gives back v.
		shift := uint(8 * n)
		if (v>>(shift-1) == 0) || (v>>(shift-1) == -1) {
			break
		}
		n++
	}
	e.buf = append(e.buf, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		e.buf = append(e.buf, byte(v>>(8*uint(i))))
	}
}

// Bool appends a BOOLEAN: 0xFF for true as RFC 4511 §5.1 requires.
func (e *Encoder) Bool(tag byte, v bool) {
	b := byte(0)
	if v {
		b = 0xFF
	}
	e.buf = append(e.buf, tag, 1, b)
}

// Null appends a NULL (or implicitly tagged NULL).
func (e *Encoder) Null(tag byte) {
	e.buf = append(e.buf, tag, 0)
}

// Raw appends pre-encoded bytes.
func (e *Encoder) Raw(b []byte) {
	e.buf = append(e.buf, b...)
}
