package doctor

import "crypto/x509"

// Aliases keep explain.go readable.
type (
	x509UnknownAuthority = x509.UnknownAuthorityError
	x509Invalid          = x509.CertificateInvalidError
	x509Hostname         = x509.HostnameError
)

const x509Expired = x509.Expired
