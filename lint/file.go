package lint

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Kind is the type of object a Report is about.
type Kind string

// The kinds of object Reports finds in a file.
const (
	KindCertificate Kind = "certificate"
	KindCRL         Kind = "crl"
)

// Report is the result of linting one object found in a file.
type Report struct {
	// Kind is KindCertificate or KindCRL.
	Kind Kind `json:"kind"`
	// Object names the object as its findings do (subject and serial of a
	// certificate, issuer and number of a CRL).
	Object string `json:"object"`
	// DER is the object's encoding.
	DER []byte `json:"-"`
	// Findings are the object's findings, worst first; empty when clean.
	Findings []Finding `json:"findings"`
}

// ErrNoObjects is returned (wrapped) by File and Reports when the data holds
// no certificate or CRL.
var ErrNoObjects = errors.New("no certificate or CRL found")

// File lints every certificate and CRL in data, which is either PEM (any
// number of CERTIFICATE, TRUSTED CERTIFICATE and X509 CRL blocks, mixed;
// other blocks such as keys are skipped) or a single DER certificate or
// CRL. It returns an error only when data holds no certificate or CRL.
func File(data []byte, opts Options) ([]Finding, error) {
	rs, err := Reports(data, opts)
	if err != nil {
		return nil, err
	}
	var fs []Finding
	for _, r := range rs {
		fs = append(fs, r.Findings...)
	}
	return fs, nil
}

// Reports is File with the findings grouped per object, in file order, so
// that clean objects are listed too. When opts.Issuer is nil, the
// certificates in data are added to opts.Issuers, so an object whose issuer
// is in the same data (a chain file, a CA certificate next to its CRL) is
// linted against it.
func Reports(data []byte, opts Options) ([]Report, error) {
	objs, err := split(data)
	if err != nil {
		return nil, err
	}
	// The certificates in the data are candidate issuers of each other
	// and of the CRLs.
	if opts.Issuer == nil {
		// Never append into the caller's backing array.
		opts.Issuers = opts.Issuers[:len(opts.Issuers):len(opts.Issuers)]
		for _, o := range objs {
			if o.Kind != KindCertificate {
				continue
			}
			if c, err := parseStd(o.DER); err == nil {
				opts.Issuers = append(opts.Issuers, c)
			}
		}
	}
	for i := range objs {
		o := &objs[i]
		switch o.Kind {
		case KindCertificate:
			o.Findings = Certificate(o.DER, opts)
		case KindCRL:
			o.Findings = CRL(o.DER, opts)
		}
		o.Object = objectName(o)
		if o.Findings == nil {
			o.Findings = []Finding{}
		}
	}
	return objs, nil
}

// split finds the certificates and CRLs in data.
func split(data []byte) ([]Report, error) {
	var out []Report
	rest := data
	sawPEM := false
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		switch b.Type {
		case "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE":
			out = append(out, Report{Kind: KindCertificate, DER: b.Bytes})
		case "X509 CRL", "CRL":
			out = append(out, Report{Kind: KindCRL, DER: b.Bytes})
		}
	}
	if sawPEM {
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: the PEM data has no CERTIFICATE or X509 CRL block", ErrNoObjects)
		}
		return out, nil
	}
	// Not PEM: a single DER object. Tell a certificate from a CRL by
	// trying both parsers; the certificate one first, as it is more common.
	der := bytes.TrimSpace(data)
	if len(der) == 0 {
		return nil, fmt.Errorf("%w: the input is empty", ErrNoObjects)
	}
	if _, err := parseCertificate(data); err == nil {
		return []Report{{Kind: KindCertificate, DER: data}}, nil
	}
	if _, err := parseAnyCRL(data); err == nil {
		return []Report{{Kind: KindCRL, DER: data}}, nil
	}
	if _, err := parseStd(data); err == nil {
		// Go parses it but zcrypto does not: lint reports why.
		return []Report{{Kind: KindCertificate, DER: data}}, nil
	}
	return nil, fmt.Errorf("%w: the input is neither PEM nor a DER certificate or CRL", ErrNoObjects)
}

func parseStd(der []byte) (c *x509.Certificate, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("x509 parser panicked: %v", r)
		}
	}()
	return x509.ParseCertificate(der)
}

func parseStdCRL(der []byte) (rl *x509.RevocationList, err error) {
	defer func() {
		if r := recover(); r != nil {
			rl, err = nil, fmt.Errorf("CRL parser panicked: %v", r)
		}
	}()
	return x509.ParseRevocationList(der)
}

// objectName names o even when it has no findings.
func objectName(o *Report) string {
	if len(o.Findings) > 0 {
		return o.Findings[0].Object
	}
	switch o.Kind {
	case KindCertificate:
		if c, err := parseCertificate(o.DER); err == nil {
			return certificateObject(c.RawSubject, c.SerialNumber)
		}
	case KindCRL:
		if rl, err := parseAnyCRL(o.DER); err == nil {
			return crlObject(rl)
		}
	}
	return string(o.Kind)
}

// parseAnyCRL parses a v2 CRL with crypto/x509 and a v1 CRL with pkid's
// own reader.
func parseAnyCRL(der []byte) (*x509.RevocationList, error) {
	if crlVersion(der) == 1 {
		return parseV1CRL(der)
	}
	return parseStdCRL(der)
}
