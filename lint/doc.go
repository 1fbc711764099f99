// Package lint checks X.509 certificates and CRLs for the mistakes that break
// real TLS stacks, and for violations of the standards a private PKI follows.
//
// It runs two kinds of checks and reports both as [Finding] values:
//
//   - zlint (github.com/zmap/zlint/v3) restricted to the lint sources that
//     apply to a private PKI: RFC 5280, RFC 5480, RFC 5891, RFC 8813 and the
//     zlint community lints. CA/Browser Forum, Mozilla, Apple, Chrome and ETSI
//     lints are not run: they encode public-web policy and would flag
//     legitimate private-CA choices.
//   - pkid's own checks (IDs prefixed "pkid_"), each naming the consequence
//     seen in the field and the fix: a CA without cRLSign (IBM GSKit:
//     "crlSign bit is not set in KeyUsage"), a certificate without an
//     authority key identifier (z/OS System SSL answers with alert 42
//     bad_certificate), server certificates without subjectAltName, weak keys
//     and signatures, validity problems, CRLs without a CRL number or AKI.
//     Where zlint reports the same problem, only pkid's finding is kept.
//
// Implemented RFC 5280 sections: 4.1.2.5 (validity), 4.2.1.1 (authority key
// identifier), 4.2.1.2 (subject key identifier), 4.2.1.3 (key usage), 4.2.1.6
// (subject alternative name), 4.2.1.9 (basic constraints), 4.2.1.12 (extended
// key usage), 5.1.2.1 (CRL version), 5.1.2.5 (nextUpdate), 5.2.1 (CRL AKI),
// 5.2.3 (CRL number); RFC 8813 section 3 (key usage of EC keys).
//
// The CA lints every certificate before storing it, so [Certificate] is on
// the issuance hot path and kept fast (see BenchmarkCertificate): each
// zlint lint is configured once and reused, lints gated on an extension
// the certificate lacks are answered NA without zlint's per-call OID
// formatting (zlintGates, proven against zlint's source), and
// e_ecdsa_small_private_key is answered from a table (smallKeyCheck), and
// the lints that read only the issuer name (zlintIssuerOnly) run once per
// issuer (issuerMemo). Every
// stand-in gives zlint's own result; the tests compare them with zlint's
// Execute on clean and deliberately bad certificates of every profile
// shape and key type. The TLS doctor lints what it sees on the wire with
// the same functions.
//
// Package lint must not import ca, store, doctor or cmd: it is a leaf that
// both the CA and the doctor depend on.
package lint
