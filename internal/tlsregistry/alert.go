package tlsregistry

import "strings"

// Alert is a TLS alert description (RFC 8446 §6, RFC 5246 §7.2, IANA TLS
// Alerts registry) with what it usually means in practice.
type Alert struct {
	Code uint8 `json:"code"`
	// Name is the IANA name, e.g. bad_certificate.
	Name string `json:"name"`
	// Meaning is one sentence on what a peer sending it usually means.
	Meaning string `json:"meaning"`
}

var alerts = []Alert{
	{0, "close_notify", "the peer closed the connection normally"},
	{10, "unexpected_message", "a message arrived out of order: usually a protocol mismatch or a non-TLS peer"},
	{20, "bad_record_mac", "a record failed integrity checks: corruption, a middlebox, or a key mismatch"},
	{21, "decryption_failed_RESERVED", "obsolete (TLS 1.0): decryption failed"},
	{22, "record_overflow", "a record was longer than allowed"},
	{30, "decompression_failure_RESERVED", "obsolete: decompression failed"},
	{40, "handshake_failure", "no acceptable set of parameters: no shared cipher suite, group or signature algorithm, or a required client certificate was missing"},
	{41, "no_certificate_RESERVED", "obsolete (SSL 3.0): no certificate"},
	{42, "bad_certificate", "the peer rejected a certificate: bad signature, missing extension (e.g. authority key identifier) or an unacceptable key usage"},
	{43, "unsupported_certificate", "the certificate's type or key is not supported by the peer"},
	{44, "certificate_revoked", "the peer found the certificate revoked"},
	{45, "certificate_expired", "the certificate has expired or is not yet valid"},
	{46, "certificate_unknown", "the peer rejected the certificate for another reason (often an untrusted chain)"},
	{47, "illegal_parameter", "a field in the handshake was out of range or inconsistent"},
	{48, "unknown_ca", "the peer could not build a chain to a CA it trusts: missing intermediate or root"},
	{49, "access_denied", "the certificate was valid but access control denied the connection"},
	{50, "decode_error", "a message could not be decoded"},
	{51, "decrypt_error", "a signature or Finished check failed: wrong key or an unsupported signature algorithm"},
	{52, "too_many_cids_requested", "DTLS 1.3: too many connection ids requested (RFC 9147)"},
	{60, "export_restriction_RESERVED", "obsolete: export restriction"},
	{70, "protocol_version", "the peer does not support the offered protocol version(s)"},
	{71, "insufficient_security", "the peer requires stronger cipher suites than were offered"},
	{80, "internal_error", "the peer hit an internal error: on z/OS System SSL often a configuration mismatch, e.g. an EC certificate with only RSA cipher suites"},
	{86, "inappropriate_fallback", "a downgrade retry was detected (TLS_FALLBACK_SCSV)"},
	{90, "user_canceled", "the handshake was canceled"},
	{100, "no_renegotiation_RESERVED", "renegotiation refused"},
	{109, "missing_extension", "a required extension was missing"},
	{110, "unsupported_extension", "an extension the peer did not offer came back"},
	{111, "certificate_unobtainable_RESERVED", "obsolete: certificate URL unobtainable"},
	{112, "unrecognized_name", "the server has no certificate for the requested name (SNI)"},
	{113, "bad_certificate_status_response", "an invalid OCSP staple was received"},
	{114, "bad_certificate_hash_value_RESERVED", "obsolete: certificate hash mismatch"},
	{115, "unknown_psk_identity", "no acceptable PSK identity"},
	{116, "certificate_required", "TLS 1.3: the server requires a client certificate and none was sent"},
	{117, "general_error", "an error not covered by another alert (RFC 8446bis)"},
	{120, "no_application_protocol", "no shared ALPN protocol"},
	{121, "ech_required", "the server requires Encrypted Client Hello"},
}

var (
	alertByCode = map[uint8]Alert{}
	alertByName = map[string]Alert{}
)

func init() {
	for _, a := range alerts {
		alertByCode[a.Code] = a
		alertByName[strings.ToLower(a.Name)] = a
	}
}

// Alerts returns every known alert description, by code.
func Alerts() []Alert { return append([]Alert(nil), alerts...) }

// AlertByCode looks an alert description up by number (42 = bad_certificate).
func AlertByCode(code uint8) (Alert, bool) { a, ok := alertByCode[code]; return a, ok }

// AlertByName looks an alert description up by its IANA name,
// case-insensitively.
func AlertByName(name string) (Alert, bool) {
	a, ok := alertByName[strings.ToLower(strings.TrimSpace(name))]
	return a, ok
}
