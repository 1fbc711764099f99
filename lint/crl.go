package lint

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// IDs of pkid's own CRL checks.
const (
	idUnparsableCRL           = "pkid_unparsable_crl"
	idCRLVersion1             = "pkid_crl_v1"
	idCRLWithoutNumber        = "pkid_crl_without_number"
	idCRLWithoutAKI           = "pkid_crl_without_aki"
	idCRLExpired              = "pkid_crl_expired"
	idCRLNotYetValid          = "pkid_crl_not_yet_valid"
	idCRLWeakSignature        = "pkid_crl_weak_signature"
	idCRLIssuerWithoutCRLSign = "pkid_crl_issuer_without_crlsign"
	idCRLAKIMismatch          = "pkid_crl_aki_mismatch"
	idCRLBadSignature         = "pkid_crl_bad_signature"
)

// CRL lints one DER-encoded X.509 certificate revocation list. Like
// Certificate it never panics and never fails: unparsable input yields an
// Error finding. Findings come worst first.
func CRL(der []byte, opts Options) []Finding {
	// pkid's checks use crypto/x509, which also reads v1 CRLs; zlint needs
	// zcrypto's parse, which refuses them.
	version := crlVersion(der)
	rl, err := parseAnyCRL(der)
	if err != nil {
		return []Finding{{
			Severity: Error,
			ID:       idUnparsableCRL,
			Source:   "pkid",
			Object:   fmt.Sprintf("CRL (unparsable, %d bytes)", len(der)),
			Message:  fmt.Sprintf("The data is not a valid DER X.509 CRL (%v), so relying parties cannot check revocation and may refuse every connection.", strings.TrimPrefix(err.Error(), "x509: ")),
			Fix:      "Check that the file holds a CRL (PEM \"X509 CRL\" block or DER) and regenerate it with pkid crl.",
		}}
	}
	if opts.Issuer == nil {
		opts.Issuer = pickIssuer(opts.Issuers, rl.RawIssuer)
	}
	obj := crlObject(rl)
	fs := checkCRL(rl, version, obj, opts)
	if zcrl, err := parseCRL(der); err == nil {
		fs = append(fs, zlintCRL(zcrl, obj)...)
	} else if version != 1 {
		fs = append(fs, Finding{
			Severity: Notice,
			ID:       "pkid_crl_zlint_unparsable",
			Source:   "pkid",
			Object:   obj,
			Message:  fmt.Sprintf("zlint's stricter parser refuses this CRL (%v), so only pkid's own checks ran; some relying parties may refuse it too.", strings.TrimPrefix(err.Error(), "x509: ")),
			Fix:      "Regenerate the CRL with a conforming tool (pkid crl) and lint it again.",
		})
	}
	fs = dropDuplicates(fs)
	sortFindings(fs)
	return fs
}

func parseCRL(der []byte) (crl *zx509.RevocationList, err error) {
	defer func() {
		if r := recover(); r != nil {
			crl, err = nil, fmt.Errorf("CRL parser panicked: %v", r)
		}
	}()
	return zx509.ParseRevocationList(der)
}

func crlObject(rl *x509.RevocationList) string {
	issuer := rl.Issuer.String()
	if issuer == "" {
		issuer = "(empty issuer)"
	}
	s := "CRL issued by " + issuer
	if rl.Number != nil {
		s += ", number " + rl.Number.String()
	}
	return s
}

// crlVersion reads the version field of a CRL's TBSCertList: absent means
// v1 (RFC 5280 5.1.2.1).
func crlVersion(der []byte) int {
	in := cryptobyte.String(der)
	var outer, tbs cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return 0
	}
	if !tbs.PeekASN1Tag(cbasn1.INTEGER) {
		return 1
	}
	var v int
	if !tbs.ReadASN1Integer(&v) {
		return 0
	}
	return v + 1
}

// checkCRL runs pkid's own CRL checks.
func checkCRL(crl *x509.RevocationList, version int, obj string, opts Options) []Finding {
	var fs []Finding
	add := func(sev Severity, id, msg, fix string) {
		fs = append(fs, Finding{Severity: sev, ID: id, Source: "pkid", Object: obj, Message: msg, Fix: fix})
	}
	if version == 1 {
		add(Warning, idCRLVersion1,
			"The CRL is version 1, which cannot carry a CRL number, authority key identifier or reason codes; stacks that need them (IBM GSKit, delta-CRL users) refuse it.",
			"Generate v2 CRLs: pkid crl always does; with OpenSSL set crlnumber in the CA configuration.")
	}
	if crl.Number == nil {
		add(Error, idCRLWithoutNumber,
			"The CRL has no CRL number (RFC 5280 5.2.3 requires one), so relying parties cannot tell a newer CRL from an older one and some refuse it.",
			"Generate CRLs with a monotonically increasing CRL number (pkid crl does; OpenSSL needs a crlnumber file in the CA configuration).")
	}
	if len(crl.AuthorityKeyId) == 0 {
		add(Error, idCRLWithoutAKI,
			"The CRL has no authority key identifier (RFC 5280 5.2.1 requires one), so stacks such as z/OS System SSL cannot match it to the CA key that signed it.",
			"Generate CRLs with authorityKeyIdentifier = keyid (pkid crl does; OpenSSL: crl_extensions with authorityKeyIdentifier = keyid:always).")
	}
	now := opts.now()
	if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
		add(Error, idCRLExpired,
			fmt.Sprintf("The CRL's nextUpdate (%s) has passed, so relying parties that check revocation treat it as stale and refuse connections (OpenSSL: \"CRL has expired\").", crl.NextUpdate.UTC().Format(time.RFC3339)),
			"Publish a fresh CRL (pkid crl, or let pkid serve publish it) and make sure clients fetch it before nextUpdate.")
	}
	if now.Before(crl.ThisUpdate) {
		add(Error, idCRLNotYetValid,
			fmt.Sprintf("The CRL's thisUpdate (%s) is in the future, so relying parties refuse it until then (OpenSSL: \"CRL is not yet valid\").", crl.ThisUpdate.UTC().Format(time.RFC3339)),
			"Check the clock of the machine that signed the CRL and regenerate it.")
	}
	weakSig := false
	switch crl.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		weakSig = true
		add(Error, idCRLWeakSignature,
			fmt.Sprintf("The CRL is signed with %s, which modern stacks reject as forgeable.", crl.SignatureAlgorithm),
			"Sign CRLs with SHA-256 or stronger (pkid crl does; OpenSSL: default_md = sha256).")
	}
	if is := opts.Issuer; is != nil {
		crlSign := is.KeyUsage&x509.KeyUsageCRLSign != 0
		if !crlSign {
			add(Error, idCRLIssuerWithoutCRLSign,
				"The CA that signed this CRL lacks cRLSign in keyUsage, so relying parties refuse the CRL (IBM GSKit: \"crlSign bit is not set in KeyUsage\") and fail connections once CRL checking is on.",
				"Reissue the CA with keyUsage = critical, keyCertSign, cRLSign, redistribute it, then regenerate the CRL.")
		}
		if len(crl.AuthorityKeyId) > 0 && len(is.SubjectKeyId) > 0 && !bytes.Equal(crl.AuthorityKeyId, is.SubjectKeyId) {
			add(Error, idCRLAKIMismatch,
				fmt.Sprintf("The CRL's authority key identifier (%X) does not match the given CA's subject key identifier (%X), so relying parties will not use it for that CA.", crl.AuthorityKeyId, is.SubjectKeyId),
				"Check that the CRL comes from the right CA and regenerate it with that CA's key.")
		} else if crlSign && !weakSig {
			if err := checkCRLSignature(crl, is); err != nil {
				add(Error, idCRLBadSignature,
					fmt.Sprintf("The CRL's signature does not verify with the given CA's key (%v), so relying parties reject it.", strings.TrimPrefix(err.Error(), "x509: ")),
					"Regenerate the CRL with the CA's current key, and check that the CRL and CA certificate belong together.")
			}
		}
	}
	return fs
}

func checkCRLSignature(rl *x509.RevocationList, issuer *x509.Certificate) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("signature check panicked: %v", r)
		}
	}()
	return rl.CheckSignatureFrom(issuer)
}

// sigAlgByOID maps the signature algorithms a v1 CRL may plausibly use to
// crypto/x509's names (v1 CRLs are parsed outside crypto/x509).
var sigAlgByOID = map[string]x509.SignatureAlgorithm{
	"1.2.840.113549.1.1.4":  x509.MD5WithRSA,
	"1.2.840.113549.1.1.5":  x509.SHA1WithRSA,
	"1.2.840.113549.1.1.11": x509.SHA256WithRSA,
	"1.2.840.113549.1.1.12": x509.SHA384WithRSA,
	"1.2.840.113549.1.1.13": x509.SHA512WithRSA,
	"1.2.840.10045.4.1":     x509.ECDSAWithSHA1,
	"1.2.840.10045.4.3.2":   x509.ECDSAWithSHA256,
	"1.2.840.10045.4.3.3":   x509.ECDSAWithSHA384,
	"1.2.840.10045.4.3.4":   x509.ECDSAWithSHA512,
	"1.3.101.112":           x509.PureEd25519,
}

// parseV1CRL reads a version 1 CRL, which crypto/x509 and zcrypto refuse,
// into the fields pkid's checks use.
func parseV1CRL(der []byte) (rl *x509.RevocationList, err error) {
	defer func() {
		if r := recover(); r != nil {
			rl, err = nil, fmt.Errorf("CRL parser panicked: %v", r)
		}
	}()
	var cl pkix.CertificateList
	rest, err := asn1.Unmarshal(der, &cl)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data after CRL")
	}
	// The issuer as encoded, not re-marshalled: matching it against a CA's
	// raw subject must be byte for byte.
	tbs := cryptobyte.String(cl.TBSCertList.Raw)
	var rawIssuer cryptobyte.String
	if !tbs.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		(tbs.PeekASN1Tag(cbasn1.INTEGER) && !tbs.SkipASN1(cbasn1.INTEGER)) ||
		!tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&rawIssuer, cbasn1.SEQUENCE) {
		return nil, errors.New("malformed CRL issuer")
	}
	rl = &x509.RevocationList{
		Raw:                  der,
		RawTBSRevocationList: cl.TBSCertList.Raw,
		RawIssuer:            []byte(rawIssuer),
		Signature:            cl.SignatureValue.RightAlign(),
		SignatureAlgorithm:   sigAlgByOID[cl.SignatureAlgorithm.Algorithm.String()],
		ThisUpdate:           cl.TBSCertList.ThisUpdate,
		NextUpdate:           cl.TBSCertList.NextUpdate,
	}
	rl.Issuer.FillFromRDNSequence(&cl.TBSCertList.Issuer)
	return rl, nil
}
