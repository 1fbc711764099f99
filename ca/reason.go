package ca

import (
	"fmt"
	"strings"
)

// RFC 5280 §5.3.1 CRLReason codes.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonRemoveFromCRL        = 8
	ReasonPrivilegeWithdrawn   = 9
	ReasonAACompromise         = 10
)

// reasonNames are OpenSSL's spellings (apps/ca.c crl_reasons), which
// `openssl ca -crl_reason` accepts and index.txt records; the two RFC 5280
// reasons OpenSSL lacks use the RFC's names.
var reasonNames = map[int]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "CACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonCertificateHold:      "certificateHold",
	ReasonRemoveFromCRL:        "removeFromCRL",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
	ReasonAACompromise:         "aACompromise",
}

// ReasonName returns OpenSSL's spelling of an RFC 5280 reason code, or
// "reason(N)" for a code RFC 5280 does not define.
func ReasonName(code int) string {
	if n, ok := reasonNames[code]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", code)
}

// ParseReason accepts a reason name as OpenSSL spells it (case does not
// matter, so the RFC's "cACompromise" works too) and returns its code.
func ParseReason(name string) (int, error) {
	for code, n := range reasonNames {
		if strings.EqualFold(n, name) {
			return code, nil
		}
	}
	return 0, fmt.Errorf("unknown revocation reason %q; use one of %s", name, ReasonList())
}

// ReasonList is the reasons a user may give to `pkid revoke`, for messages.
func ReasonList() string {
	var names []string
	for _, code := range []int{0, 1, 2, 3, 4, 5, 6, 9, 10} {
		names = append(names, reasonNames[code])
	}
	return strings.Join(names, ", ")
}
