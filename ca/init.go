package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/store"
)

// Default CA names and lifetimes.
const (
	DefaultRootName    = "CN=pkid Root CA,O=pkid"
	DefaultIssuingName = "CN=pkid Issuing CA,O=pkid"
	DefaultSingleName  = "CN=pkid CA,O=pkid"

	RootYears    = 20
	IssuingYears = 10
)

// ErrInitialized is returned (wrapped) by Init when the store has a CA.
var ErrInitialized = errors.New("a CA already exists")

// InitOptions configure Init. The zero value makes a P-256 two-tier
// hierarchy with the default names, unencrypted keys and no URLs.
type InitOptions struct {
	// Name is the DN of the issuing CA (or of the one CA with Single). The
	// root gets the same DN with its CN changed: "Issuing" becomes "Root",
	// or " Root" is appended to the CN ("CN=Acme CA,O=Acme" →
	// "CN=Acme CA Root,O=Acme").
	Name    string
	KeyType KeyType
	// Single makes one self-signed CA that issues (ID "ca").
	Single bool
	// URL is the http(s) base for AIA caIssuers (URL/ca/ID.der), OCSP
	// (URL/ocsp) and the CRL distribution point (URL/crl/ID.crl).
	URL string
	// LDAPURL (ldap://host:port) adds the distribution point
	// ldap://host:port/<CA DN>?certificateRevocationList;binary.
	LDAPURL string
	// Passphrase encrypts the CA keys at rest; empty = unencrypted.
	Passphrase []byte
	Time       func() time.Time
	Rand       io.Reader
}

// InitResult is what Init created.
type InitResult struct {
	CAs []*store.CA // root then issuing, or the single CA
	// RootsPEM is the certificate to trust (ca.pem); ChainPEM is the
	// issuing CA's certificate followed by the root's (chain.pem).
	RootsPEM, ChainPEM []byte
}

// Init creates the CA hierarchy in an empty store: a root (ID "root") and
// an issuing CA (ID "issuing", the default), or with Single one CA ("ca").
// Both are P-256 unless KeyType says otherwise; the root lives RootYears,
// the issuing CA IssuingYears (never beyond the root). It refuses a store
// that already has a CA. Every record is stored in one transaction (see
// store.Store.CreateCAs): on error the store holds none of them and Init
// may be run again.
func Init(ctx context.Context, st store.Store, o InitOptions) (*InitResult, error) {
	if o.Time == nil {
		o.Time = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.KeyType == "" {
		o.KeyType = DefaultKeyType
	}
	if _, err := ParseKeyType(string(o.KeyType)); err != nil {
		return nil, err
	}
	if err := checkBaseURL(o.URL, "--url", "http", "https"); err != nil {
		return nil, err
	}
	if err := checkBaseURL(o.LDAPURL, "--ldap-url", "ldap", "ldaps"); err != nil {
		return nil, err
	}
	existing, err := st.CAs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read CAs: %w", err)
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w (%s: %s); `pkid init` runs once per data directory", ErrInitialized, existing[0].ID, existing[0].Subject)
	}

	issuingName, rootName := o.Name, ""
	switch {
	case o.Single && issuingName == "":
		issuingName = DefaultSingleName
	case issuingName == "":
		issuingName, rootName = DefaultIssuingName, DefaultRootName
	}
	issuingRDNs, err := parseCAName(issuingName)
	if err != nil {
		return nil, err
	}
	var rootRDNs pkix.RDNSequence
	if !o.Single {
		if rootName == "" {
			rootName, err = deriveRootName(issuingRDNs)
			if err != nil {
				return nil, err
			}
		}
		if rootRDNs, err = parseCAName(rootName); err != nil {
			return nil, err
		}
	}

	now := o.Time().UTC().Truncate(time.Second)
	notBefore := now.Add(-time.Minute) // tolerate clocks slightly behind
	mk := func(id, role, parent string, rdns pkix.RDNSequence, years, pathLen int, issuer *x509.Certificate, issuerRec *store.CA, issuerKey crypto.Signer) (*store.CA, *x509.Certificate, crypto.Signer, error) {
		key, err := GenerateKey(o.KeyType, o.Rand)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("generate %s key: %w", id, err)
		}
		subject, err := dn.Marshal(rdns)
		if err != nil {
			return nil, nil, nil, err
		}
		notAfter := now.AddDate(years, 0, 0)
		if issuer != nil && notAfter.After(issuer.NotAfter) {
			notAfter = issuer.NotAfter
		}
		spec := &certSpec{subject: subject, pub: key.Public(), notBefore: notBefore, notAfter: notAfter, now: now,
			isCA: true, maxPathLen: pathLen, keyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
		serial, err := NewSerial(o.Rand)
		if err != nil {
			return nil, nil, nil, err
		}
		signer := key
		if issuer != nil {
			signer = issuerKey
			spec.url, spec.ldapURL, spec.issuerID, spec.issuerDN = issuerRec.URL, issuerRec.LDAPURL, issuerRec.ID, issuerRec.Subject
		}
		der, err := sign(spec, serial, issuer, signer, o.Rand)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s CA certificate: %w", id, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, nil, err
		}
		keyPEM, err := MarshalPrivateKey(key, o.Passphrase, o.Rand)
		if err != nil {
			return nil, nil, nil, err
		}
		rec := &store.CA{ID: id, ParentID: parent, Role: role, Subject: dn.String(rdns), CertDER: der,
			KeyPEM: keyPEM, Encrypted: len(o.Passphrase) > 0, URL: o.URL, LDAPURL: o.LDAPURL, CreatedAt: now}
		return rec, cert, key, nil
	}

	res := &InitResult{}
	if o.Single {
		rec, cert, _, err := mk("ca", store.RoleSingle, "", issuingRDNs, RootYears, 1, nil, nil, nil)
		if err != nil {
			return nil, err
		}
		rec.Default = true
		if err := st.CreateCAs(ctx, []*store.CA{rec}, nil); err != nil {
			return nil, storeErr("store CA", err)
		}
		res.CAs = []*store.CA{rec}
		res.RootsPEM = certsPEM([]*x509.Certificate{cert})
		res.ChainPEM = res.RootsPEM
		return res, nil
	}
	rootRec, rootCert, rootKey, err := mk("root", store.RoleRoot, "", rootRDNs, RootYears, 1, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	issRec, issCert, _, err := mk("issuing", store.RoleIssuing, "root", issuingRDNs, IssuingYears, 0, rootCert, rootRec, rootKey)
	if err != nil {
		return nil, err
	}
	issRec.Default = true
	// One transaction: a failure part-way must not leave a root without
	// its issuing CA, which the next init would refuse as "a CA exists".
	// The issuing CA's certificate is also an issued certificate of the
	// root, so it can be listed, revoked and appear on the root's CRL.
	issued := []*store.Certificate{{
		Serial: FormatSerial(issCert.SerialNumber), CAID: "root", Subject: issRec.Subject, Profile: "sub-ca",
		NotBefore: issCert.NotBefore, NotAfter: issCert.NotAfter, DER: issCert.Raw, IssuedAt: now, Status: store.StatusValid,
	}}
	if err := st.CreateCAs(ctx, []*store.CA{rootRec, issRec}, issued); err != nil {
		return nil, storeErr("store the CA hierarchy", err)
	}
	res.CAs = []*store.CA{rootRec, issRec}
	res.RootsPEM = certsPEM([]*x509.Certificate{rootCert})
	res.ChainPEM = certsPEM([]*x509.Certificate{issCert, rootCert})
	return res, nil
}

// storeErr wraps the error of Init's one write. ErrExists there means
// another init (a second `pkid init`, or a node of a cluster starting
// without a shared lock) stored its CA between our check and our write:
// that is ErrInitialized too, and nothing of ours was stored.
func storeErr(what string, err error) error {
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%s: %w (created concurrently); `pkid init` runs once per data directory: %w", what, ErrInitialized, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func parseCAName(s string) (pkix.RDNSequence, error) {
	rdns, err := dn.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("CA name: %w", err)
	}
	if len(rdns) == 0 {
		return nil, errors.New("CA name: empty DN; give one like \"CN=Example Issuing CA,O=Example\"")
	}
	return rdns, nil
}

// deriveRootName names the root after the issuing CA: the same DN with
// "Issuing" in the CN replaced by "Root", or " Root" appended to the CN.
func deriveRootName(issuing pkix.RDNSequence) (string, error) {
	root := make(pkix.RDNSequence, len(issuing))
	found := false
	for i, rdn := range issuing {
		root[i] = append(pkix.RelativeDistinguishedNameSET(nil), rdn...)
		for j, atv := range rdn {
			if dn.TypeName(atv.Type) == "CN" && !found {
				cn := atv.Value.(string)
				if strings.Contains(cn, "Issuing") {
					cn = strings.Replace(cn, "Issuing", "Root", 1)
				} else {
					cn += " Root"
				}
				root[i][j].Value = cn
				found = true
			}
		}
	}
	if !found {
		return "", fmt.Errorf("CA name %q has no CN; give one like \"CN=Example Issuing CA,O=Example\" (the root's name is derived from it)", dn.String(issuing))
	}
	return dn.String(root), nil
}

func checkBaseURL(s, flag string, schemes ...string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%s %q: expected a base URL like %s://host:port", flag, s, schemes[0])
	}
	for _, sc := range schemes {
		if u.Scheme == sc {
			if (sc == "ldap" || sc == "ldaps") && strings.Trim(u.Path, "/") != "" {
				return fmt.Errorf("%s %q: give only %s://host:port; pkid appends the CA's DN", flag, s, sc)
			}
			return nil
		}
	}
	return fmt.Errorf("%s %q: the scheme must be %s", flag, s, strings.Join(schemes, " or "))
}
