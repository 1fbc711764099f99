package ca

// Taking over an `openssl ca` directory: its CA certificate and key, the
// index.txt database and the crlnumber counter.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkid/pkid/dn"
	"github.com/pkid/pkid/store"
)

// OpenSSLImport describes an `openssl ca` directory for ImportOpenSSL.
type OpenSSLImport struct {
	// ID names the new CA in the store; "" picks "imported", then
	// "imported-2", ...
	ID string
	// CACert is the CA certificate (PEM or DER); CAKey its private key as
	// PEM (PKCS#8, SEC 1 or PKCS#1; "ENCRYPTED PRIVATE KEY" with
	// KeyPassphrase).
	CACert, CAKey []byte
	// KeyPassphrase decrypts an encrypted CAKey.
	KeyPassphrase []byte
	// Index is the index.txt database.
	Index io.Reader
	// CRLNumber is the content of the crlnumber file (the next CRL's number
	// in hex); nil when the directory has none.
	CRLNumber []byte
	// CertsDir is the new_certs_dir (newcerts/) holding SERIAL.pem files;
	// "" for none. A certificate found there is stored with the entry.
	CertsDir string
	// Passphrase, when set, encrypts the CA key at rest, like `pkid init`.
	Passphrase []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// OpenSSLImportResult says what ImportOpenSSL stored.
type OpenSSLImportResult struct {
	CA                      *store.CA
	Valid, Revoked, Expired int // index lines by status
	WithCertificate         int // entries whose certificate file was found
	// NextCRLNumber is the number the next CRL of this CA will carry.
	NextCRLNumber int64
}

// OpenSSLImportPlan is a checked import, ready to be stored with Apply.
type OpenSSLImportPlan struct {
	in      OpenSSLImport
	cert    *x509.Certificate
	keyPEM  []byte
	next    int64
	certs   []*store.Certificate
	counts  OpenSSLImportResult
	created time.Time
}

// ImportOpenSSL takes over an `openssl ca` directory: PrepareOpenSSLImport
// followed by Apply.
func ImportOpenSSL(ctx context.Context, st store.Store, in OpenSSLImport) (*OpenSSLImportResult, error) {
	p, err := PrepareOpenSSLImport(in)
	if err != nil {
		return nil, err
	}
	return p.Apply(ctx, st)
}

// PrepareOpenSSLImport reads and checks everything that needs no store:
// the key matches the certificate, every index line parses, every
// certificate file found belongs to its line and was signed by the CA, the
// crlnumber file parses. Nothing is written; a failure here means a caller
// need not even create a store.
func PrepareOpenSSLImport(in OpenSSLImport) (*OpenSSLImportPlan, error) {
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	cert, err := indexParseCACert(in.CACert)
	if err != nil {
		return nil, err
	}
	key, err := indexParseKey(in.CAKey, in.KeyPassphrase)
	if err != nil {
		return nil, err
	}
	if k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(cert.PublicKey) {
		return nil, errors.New("import: the CA key does not belong to the CA certificate (different public key); pass the private_key that the openssl.cnf of this CA names")
	}
	for _, r := range in.ID {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return nil, fmt.Errorf("import: CA ID %q: use letters, digits, '-', '_' and '.' only (it appears in URLs such as /crl/ID.crl)", in.ID)
		}
	}
	p := &OpenSSLImportPlan{in: in, cert: cert, created: now()}
	if in.CRLNumber != nil {
		if p.next, err = ParseCRLNumberFile(in.CRLNumber); err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	if in.Index == nil {
		return nil, errors.New("import: no index.txt given")
	}
	err = ScanIndex(in.Index, func(e IndexEntry) error {
		c := &store.Certificate{
			Serial:   e.Serial,
			NotAfter: e.NotAfter,
			IssuedAt: p.created,
			Status:   store.StatusValid,
		}
		switch e.Status {
		case 'V':
			p.counts.Valid++
		case 'E':
			p.counts.Expired++
		case 'R':
			p.counts.Revoked++
			if e.Reason == ReasonRemoveFromCRL {
				return fmt.Errorf("index line %d: serial %s has reason removeFromCRL, which belongs only on delta CRLs; mark the line V if the certificate was released from hold, or give a final reason", e.Line, e.Serial)
			}
			c.Status, c.RevokedAt, c.Reason, c.InvalidityDate = store.StatusRevoked, e.RevokedAt, e.Reason, e.InvalidityDate
		}
		subject, err := indexLineSubject(e.Subject)
		if err != nil {
			return fmt.Errorf("index line %d: %w", e.Line, err)
		}
		c.Subject = subject
		if in.CertsDir != "" {
			leaf, err := indexReadCertFile(in.CertsDir, e, cert)
			if err != nil {
				return err
			}
			if leaf != nil {
				c.DER, c.NotBefore, c.NotAfter = leaf.Raw, leaf.NotBefore, leaf.NotAfter
				p.counts.WithCertificate++
			}
		}
		p.certs = append(p.certs, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if p.keyPEM, err = MarshalPrivateKey(key, in.Passphrase, rand.Reader); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return p, nil
}

// Apply stores a prepared import: the CA, its certificates and the
// continued CRL numbering. It refuses (storing nothing) a CA certificate
// that is already stored, a CA ID that is taken, or a serial that is
// already stored.
//
// The imported CA becomes the default CA only when the store has no default
// yet: importing into an empty store makes it the CA that `pkid issue` and
// `pkid crl` use, and importing beside pkid's own CAs leaves them in charge
// (name the imported one with --ca).
func (p *OpenSSLImportPlan) Apply(ctx context.Context, st store.Store) (*OpenSSLImportResult, error) {
	cert := p.cert
	cas, err := st.CAs(ctx)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	id := p.in.ID
	taken := map[string]bool{}
	hasDefault := false
	parentID := ""
	for _, c := range cas {
		taken[c.ID] = true
		hasDefault = hasDefault || c.Default
		if string(c.CertDER) == string(cert.Raw) {
			return nil, fmt.Errorf("import: this CA certificate is already in the store as CA %q", c.ID)
		}
		if parentID == "" && string(cert.RawIssuer) != string(cert.RawSubject) {
			if pc, err := x509.ParseCertificate(c.CertDER); err == nil && cert.CheckSignatureFrom(pc) == nil {
				parentID = c.ID
			}
		}
	}
	if id == "" {
		id = "imported"
		for i := 2; taken[id]; i++ {
			id = fmt.Sprintf("imported-%d", i)
		}
	} else if taken[id] {
		return nil, fmt.Errorf("import: a CA named %q exists already; choose another ID", id)
	}
	// Serials are unique across the store; look for clashes before writing
	// anything, unless the store holds no certificates at all.
	existing, err := st.Certificates(ctx, store.Query{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	for _, c := range p.certs {
		c.CAID = id
		if len(existing) == 0 {
			continue
		}
		if _, err := st.Certificate(ctx, c.Serial); err == nil {
			return nil, fmt.Errorf("import: serial %s is already in the store (store serials are unique across CAs)", c.Serial)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	subject := cert.Subject.String()
	if s, err := indexFormatSubject(cert.RawSubject); err == nil {
		subject = s
	}
	rec := &store.CA{
		ID:        id,
		ParentID:  parentID,
		Role:      store.RoleImported,
		Subject:   subject,
		CertDER:   cert.Raw,
		KeyPEM:    p.keyPEM,
		Encrypted: len(p.in.Passphrase) > 0,
		Default:   !hasDefault,
		CreatedAt: p.created,
	}
	// The CA and its certificates are stored in one transaction: a failure
	// leaves nothing behind, and the import can simply be run again.
	if err := st.CreateCAs(ctx, []*store.CA{rec}, p.certs); err != nil {
		return nil, fmt.Errorf("import: store CA %q and its %d certificates: %w", id, len(p.certs), err)
	}
	if p.next > 1 {
		if err := st.SetCRLNumber(ctx, id, p.next-1); err != nil {
			return nil, fmt.Errorf("import: CA %q and its certificates were stored but the CRL number was not continued (%w)", id, err)
		}
	}
	res := p.counts
	res.CA = rec
	res.NextCRLNumber = max(p.next, 1)
	return &res, nil
}

func indexParseCACert(b []byte) (*x509.Certificate, error) {
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("import: CA certificate file holds a %q PEM block, want CERTIFICATE", blk.Type)
		}
		der = blk.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("import: CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("import: %q is not a CA certificate (basicConstraints lacks CA:TRUE)", cert.Subject)
	}
	return cert, nil
}

// indexReadCertFile reads DIR/SERIAL.pem (as openssl ca names the files in
// new_certs_dir); nil if there is none.
func indexReadCertFile(dir string, e IndexEntry, issuer *x509.Certificate) (*x509.Certificate, error) {
	var b []byte
	var path string
	var err error
	names := []string{e.Serial + ".pem"}
	if e.File != "" && e.File != "unknown" {
		names = append([]string{filepath.Base(e.File)}, names...)
	}
	for _, n := range names {
		path = filepath.Join(dir, n)
		b, err = os.ReadFile(path)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("index line %d: %w", e.Line, err)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		der = blk.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("index line %d: certificate file %s: %w", e.Line, path, err)
	}
	if got := strings.ToUpper(c.SerialNumber.Text(16)); strings.TrimLeft(e.Serial, "0") != got && e.Serial != got {
		return nil, fmt.Errorf("index line %d: %s holds serial %s, not %s", e.Line, path, got, e.Serial)
	}
	if err := c.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("index line %d: %s was not signed by this CA: %w", e.Line, path, err)
	}
	return c, nil
}

// indexParseKey reads the CA's private key as `openssl ca` keeps it:
// PKCS#8, SEC 1 or PKCS#1 PEM, or PBES2-encrypted PKCS#8 (openssl genpkey
// -aes256) with passphrase.
func indexParseKey(b, passphrase []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("import: the CA key file holds no PEM block")
	}
	if blk.Headers["Proc-Type"] != "" {
		return nil, errors.New("import: the CA key uses legacy PEM encryption; convert it with `openssl pkey -in KEY -aes256 -out NEWKEY` first")
	}
	switch blk.Type {
	case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
	default:
		return nil, fmt.Errorf("import: the CA key file holds a %q PEM block, want a private key", blk.Type)
	}
	k, err := ParsePrivateKey(b, passphrase)
	if err != nil {
		return nil, fmt.Errorf("import: CA key: %w", err)
	}
	return k, nil
}

// indexFormatSubject formats a certificate's subject as the store keeps it.
func indexFormatSubject(raw []byte) (string, error) { return dn.FormatDER(raw) }

// indexLineSubject converts an index line's subject, preferring the dn
// package (which checks it) and falling back to a plain conversion for the
// names older OpenSSL versions let through.
func indexLineSubject(s string) (string, error) {
	if rdns, err := dn.Parse(s); err == nil {
		return dn.String(rdns), nil
	}
	return IndexSubjectRFC4514(s)
}
