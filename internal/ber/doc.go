// Package ber is the strict subset of the ASN.1 Basic Encoding Rules (X.690)
// that LDAPv3 uses, with the restrictions of RFC 4511 §5.1.
//
// It owns three things: a framing reader (ReadPacket) that takes one
// top-level element off a byte stream without letting a peer's claimed
// length drive allocation; a Decoder that walks an element in place, so
// decoded values slice the packet buffer instead of being copied; and an
// Encoder that appends to a []byte and back-patches lengths.
//
// Decoding is strict where RFC 4511 is: only the definite length form
// (indefinite lengths are an error), only the low tag number form (LDAP
// never needs tag numbers above 30), OCTET STRING only in primitive form
// (the tag byte, including the constructed bit, must match exactly),
// BOOLEAN and INTEGER contents of bounded size, bounded nesting depth.
// Like OpenLDAP's liblber it accepts non-minimal long-form lengths
// (0x84 00 00 00 05, as Active Directory sends), but a length is only ever
// compared against bytes already held, never used to size an allocation.
// A BOOLEAN is true for any non-zero octet (RFC 4511 §5.1 constrains the
// sender to 0xFF; receivers are lenient like liblber).
//
// The encoder writes minimal definite lengths and 0xFF for true.
//
// This package must not import anything from pkid; it is internal so that
// the LDAP message API in package ldap is the only public surface.
package ber
