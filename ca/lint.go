package ca

// lintCertificate checks a signed certificate before it is stored; an error
// refuses issuance with the error's message. It is wired to package lint
// (zlint plus pkid's own checks) in lint_hook.go; nil skips linting.
var lintCertificate func(der []byte) error
