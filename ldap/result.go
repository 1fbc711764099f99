package ldap

import (
	"fmt"
	"strconv"
)

// ResultCode is an LDAPResult resultCode (RFC 4511 §4.1.9 and Appendix A),
// plus the codes later RFCs registered.
type ResultCode uint16

// Result codes named as in RFC 4511 Appendix A.
const (
	ResultSuccess                      ResultCode = 0
	ResultOperationsError              ResultCode = 1
	ResultProtocolError                ResultCode = 2
	ResultTimeLimitExceeded            ResultCode = 3
	ResultSizeLimitExceeded            ResultCode = 4
	ResultCompareFalse                 ResultCode = 5
	ResultCompareTrue                  ResultCode = 6
	ResultAuthMethodNotSupported       ResultCode = 7
	ResultStrongerAuthRequired         ResultCode = 8
	ResultReferral                     ResultCode = 10
	ResultAdminLimitExceeded           ResultCode = 11
	ResultUnavailableCriticalExtension ResultCode = 12
	ResultConfidentialityRequired      ResultCode = 13
	ResultSaslBindInProgress           ResultCode = 14
	ResultNoSuchAttribute              ResultCode = 16
	ResultUndefinedAttributeType       ResultCode = 17
	ResultInappropriateMatching        ResultCode = 18
	ResultConstraintViolation          ResultCode = 19
	ResultAttributeOrValueExists       ResultCode = 20
	ResultInvalidAttributeSyntax       ResultCode = 21
	ResultNoSuchObject                 ResultCode = 32
	ResultAliasProblem                 ResultCode = 33
	ResultInvalidDNSyntax              ResultCode = 34
	ResultAliasDereferencingProblem    ResultCode = 36
	ResultInappropriateAuthentication  ResultCode = 48
	ResultInvalidCredentials           ResultCode = 49
	ResultInsufficientAccessRights     ResultCode = 50
	ResultBusy                         ResultCode = 51
	ResultUnavailable                  ResultCode = 52
	ResultUnwillingToPerform           ResultCode = 53
	ResultLoopDetect                   ResultCode = 54
	ResultNamingViolation              ResultCode = 64
	ResultObjectClassViolation         ResultCode = 65
	ResultNotAllowedOnNonLeaf          ResultCode = 66
	ResultNotAllowedOnRDN              ResultCode = 67
	ResultEntryAlreadyExists           ResultCode = 68
	ResultObjectClassModsProhibited    ResultCode = 69
	ResultAffectsMultipleDSAs          ResultCode = 71
	ResultOther                        ResultCode = 80
	ResultCanceled                     ResultCode = 118 // RFC 3909
	ResultNoSuchOperation              ResultCode = 119 // RFC 3909
	ResultTooLate                      ResultCode = 120 // RFC 3909
	ResultCannotCancel                 ResultCode = 121 // RFC 3909
	ResultAssertionFailed              ResultCode = 122 // RFC 4528
	ResultAuthorizationDenied          ResultCode = 123 // RFC 4370
)

var resultNames = map[ResultCode]string{
	ResultSuccess:                      "success",
	ResultOperationsError:              "operationsError",
	ResultProtocolError:                "protocolError",
	ResultTimeLimitExceeded:            "timeLimitExceeded",
	ResultSizeLimitExceeded:            "sizeLimitExceeded",
	ResultCompareFalse:                 "compareFalse",
	ResultCompareTrue:                  "compareTrue",
	ResultAuthMethodNotSupported:       "authMethodNotSupported",
	ResultStrongerAuthRequired:         "strongerAuthRequired",
	ResultReferral:                     "referral",
	ResultAdminLimitExceeded:           "adminLimitExceeded",
	ResultUnavailableCriticalExtension: "unavailableCriticalExtension",
	ResultConfidentialityRequired:      "confidentialityRequired",
	ResultSaslBindInProgress:           "saslBindInProgress",
	ResultNoSuchAttribute:              "noSuchAttribute",
	ResultUndefinedAttributeType:       "undefinedAttributeType",
	ResultInappropriateMatching:        "inappropriateMatching",
	ResultConstraintViolation:          "constraintViolation",
	ResultAttributeOrValueExists:       "attributeOrValueExists",
	ResultInvalidAttributeSyntax:       "invalidAttributeSyntax",
	ResultNoSuchObject:                 "noSuchObject",
	ResultAliasProblem:                 "aliasProblem",
	ResultInvalidDNSyntax:              "invalidDNSyntax",
	ResultAliasDereferencingProblem:    "aliasDereferencingProblem",
	ResultInappropriateAuthentication:  "inappropriateAuthentication",
	ResultInvalidCredentials:           "invalidCredentials",
	ResultInsufficientAccessRights:     "insufficientAccessRights",
	ResultBusy:                         "busy",
	ResultUnavailable:                  "unavailable",
	ResultUnwillingToPerform:           "unwillingToPerform",
	ResultLoopDetect:                   "loopDetect",
	ResultNamingViolation:              "namingViolation",
	ResultObjectClassViolation:         "objectClassViolation",
	ResultNotAllowedOnNonLeaf:          "notAllowedOnNonLeaf",
	ResultNotAllowedOnRDN:              "notAllowedOnRDN",
	ResultEntryAlreadyExists:           "entryAlreadyExists",
	ResultObjectClassModsProhibited:    "objectClassModsProhibited",
	ResultAffectsMultipleDSAs:          "affectsMultipleDSAs",
	ResultOther:                        "other",
	ResultCanceled:                     "canceled",
	ResultNoSuchOperation:              "noSuchOperation",
	ResultTooLate:                      "tooLate",
	ResultCannotCancel:                 "cannotCancel",
	ResultAssertionFailed:              "assertionFailed",
	ResultAuthorizationDenied:          "authorizationDenied",
}

// String returns the RFC name of c ("noSuchObject"), or "resultCode(N)" for
// codes without one.
func (c ResultCode) String() string {
	if s, ok := resultNames[c]; ok {
		return s
	}
	return "resultCode(" + strconv.Itoa(int(c)) + ")"
}

// LDAPResult is the result every response carries (RFC 4511 §4.1.9).
type LDAPResult struct {
	ResultCode        ResultCode
	MatchedDN         string
	DiagnosticMessage string
	Referral          []string // URIs; only with ResultReferral
}

// Err returns nil when the result is success, and an *Error otherwise.
func (r *LDAPResult) Err() error {
	if r.ResultCode == ResultSuccess {
		return nil
	}
	return &Error{Code: r.ResultCode, MatchedDN: r.MatchedDN, Message: r.DiagnosticMessage}
}

// Error is an LDAP result as a Go error: what a client returns for a
// failed operation, and what an operation handler returns to make the
// server answer with Code.
type Error struct {
	Code      ResultCode
	MatchedDN string
	Message   string
}

// Errorf returns an *Error with code and a formatted diagnostic message.
func Errorf(code ResultCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns "ldap: <resultCode>: <message>".
func (e *Error) Error() string {
	if e.Message == "" {
		return "ldap: " + e.Code.String()
	}
	return "ldap: " + e.Code.String() + ": " + e.Message
}

// Result returns e as the LDAPResult of a response.
func (e *Error) Result() LDAPResult {
	return LDAPResult{ResultCode: e.Code, MatchedDN: e.MatchedDN, DiagnosticMessage: e.Message}
}
