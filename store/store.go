package store

import (
	"context"
	"errors"
	"time"
)

// Errors a caller may branch on. Implementations wrap them with context, so
// test with errors.Is.
var (
	// ErrNotFound: no CA, certificate or CRL with that identifier.
	ErrNotFound = errors.New("not found")
	// ErrExists: a CA or certificate (serial) with that identifier is
	// already stored. Serials are random, so issuers retry with a new one.
	ErrExists = errors.New("already exists")
	// ErrAlreadyRevoked: the certificate is revoked already (other than on
	// hold, which may be changed to a final reason).
	ErrAlreadyRevoked = errors.New("already revoked")
	// ErrNotRevoked: the certificate is not revoked (or not on hold, for
	// Release).
	ErrNotRevoked = errors.New("not revoked")
)

// CA roles.
const (
	RoleRoot     = "root"     // self-signed trust anchor of a two-tier hierarchy
	RoleIssuing  = "issuing"  // issues end-entity certificates
	RoleSingle   = "single"   // self-signed root that also issues (init --single)
	RoleImported = "imported" // taken over from an openssl ca directory
	RoleSub      = "sub"      // subordinate CA issued with the sub-ca profile
)

// CA is a certificate authority whose key pkid holds.
type CA struct {
	ID        string // short stable name: "root", "issuing", "imported-1", ...
	ParentID  string // the issuing CA's ID; "" for self-signed
	Role      string // one of the Role constants
	Subject   string // RFC 4514 string of the certificate's subject
	CertDER   []byte
	KeyPEM    []byte // PKCS#8 PEM; "ENCRYPTED PRIVATE KEY" when Encrypted
	Encrypted bool
	URL       string // base URL for AIA and the http CRL distribution point; "" = none
	LDAPURL   string // ldap://host:port base for the LDAP CRL distribution point; "" = none
	DeltaCRL  bool   // issue delta CRLs and point to them with freshestCRL
	Default   bool   // the CA `pkid issue` uses when none is named
	CreatedAt time.Time
}

// Status of a stored certificate. Expiry is not stored: a valid certificate
// past NotAfter is expired.
type Status string

const (
	StatusValid   Status = "valid"
	StatusRevoked Status = "revoked" // including certificateHold
)

// Certificate is an issued (or imported) certificate and its revocation state.
type Certificate struct {
	Serial    string // upper-case hex without separators, as `openssl x509 -serial` prints
	CAID      string // issuer
	Subject   string // RFC 4514
	Profile   string // issuance profile; "" for imported
	NotBefore time.Time
	NotAfter  time.Time
	DER       []byte // nil for imported index entries whose certificate file was absent
	IssuedAt  time.Time

	Status         Status
	RevokedAt      time.Time // zero unless revoked
	Reason         int       // RFC 5280 CRLReason; meaningful when revoked
	InvalidityDate time.Time // zero = none
	// Revision is the change-feed revision of the last change to this
	// certificate's revocation state (issuance counts as a change).
	Revision int64
}

// Revocation is what Revoke records.
type Revocation struct {
	At             time.Time
	Reason         int
	InvalidityDate time.Time
}

// RevokedEntry is one line of a CRL as the store keeps it.
type RevokedEntry struct {
	Serial         string
	RevokedAt      time.Time
	Reason         int
	InvalidityDate time.Time
	Revision       int64
	// Released is true for a certificate taken off hold after the revision
	// asked for in RevokedSince: a delta CRL lists it with removeFromCRL.
	Released bool
}

// Query selects certificates for listing. Zero fields do not filter.
type Query struct {
	CAID           string
	Status         Status    // StatusValid or StatusRevoked
	Expired        *bool     // true: NotAfter before Now; false: not yet expired
	NotAfterBefore time.Time // "expiring within": NotAfter before this
	Now            time.Time // reference for Expired; zero = time.Now()
	Limit          int       // 0 = no limit
}

// CRL is a signed CRL as stored for serving.
type CRL struct {
	CAID       string
	Number     int64 // CRL number; strictly increasing per CA, never reused
	Delta      bool
	BaseNumber int64 // for a delta CRL: the base CRL's number
	ThisUpdate time.Time
	NextUpdate time.Time
	// Revision is the change-feed revision the CRL reflects: every
	// revocation with Revision <= this is in it.
	Revision int64
	DER      []byte
}

// ChangeKind names what a change-feed record is about.
type ChangeKind string

const (
	ChangeCA      ChangeKind = "ca"      // a CA was created or changed
	ChangeIssue   ChangeKind = "issue"   // certificates were issued
	ChangeRevoke  ChangeKind = "revoke"  // a certificate was revoked (or put on hold)
	ChangeRelease ChangeKind = "release" // a certificate was released from hold
	ChangeCRL     ChangeKind = "crl"     // a new CRL was stored
)

// Change is one change-feed record. Revisions increase strictly and are
// never reused, across processes. They become visible in order: once a
// reader sees revision r, every change with a lower revision is visible too
// (so a watcher that has read up to r never needs to look below it again).
type Change struct {
	Revision int64
	Kind     ChangeKind
	CAID     string
	Serial   string // for issue/revoke/release
	At       time.Time
}

// Store is pkid's persistence. All methods are safe for concurrent use by
// several goroutines and several processes on the same data. Each method
// that changes data is one transaction: it either happens completely and
// durably (committed before it returns) or not at all.
//
// A store may also implement Notifier (push a wake-up to Watch when any
// node commits) and Locker (named locks across processes and nodes, used
// so that exactly one node signs each CRL); see notify.go. store/postgres
// implements both, store/sqlite Locker (flock beside the database file).
type Store interface {
	// CreateCA stores a new CA. ErrExists if the ID is taken. At most one
	// CA is the Default: creating or updating one with Default set clears
	// it on the others.
	CreateCA(ctx context.Context, ca *CA) error
	// CreateCAs stores new CAs together with certificates they issued, in
	// one transaction: all or none, so a CA hierarchy (a root, its issuing
	// CA, and the issuing CA's certificate recorded as issued by the root)
	// is never left half-stored. The CAs are created in order as CreateCA
	// does (ErrExists if an ID is taken or repeated), then issued is added
	// as AddCertificates does (ErrExists for a stored or repeated serial;
	// ErrNotFound for a CA neither stored nor in cas), with the same
	// change-feed records in that order. On error no CA, no certificate
	// and no change is stored.
	CreateCAs(ctx context.Context, cas []*CA, issued []*Certificate) error
	// UpdateCA replaces the mutable fields of a CA (KeyPEM, Encrypted, URL,
	// LDAPURL, DeltaCRL, Default). ErrNotFound if absent.
	UpdateCA(ctx context.Context, ca *CA) error
	// CA returns one CA by ID.
	CA(ctx context.Context, id string) (*CA, error)
	// CAs returns every CA, in creation order.
	CAs(ctx context.Context) ([]*CA, error)

	// AddCertificates stores newly issued or imported certificates, all or
	// none. ErrExists (naming the serial) if any serial is already stored
	// (or repeated in the batch); ErrNotFound if a certificate's CA is not
	// stored. Each certificate's Revision is set from the feed, its Serial
	// upper-cased (a serial that is not hex is refused), an empty Status set
	// to StatusValid and a zero IssuedAt to now. Imported certificates may be
	// added already revoked.
	AddCertificates(ctx context.Context, certs []*Certificate) error
	// Certificate returns one certificate by serial (hex; case is ignored).
	Certificate(ctx context.Context, serial string) (*Certificate, error)
	// Certificates lists certificates matching q, ordered by IssuedAt then
	// serial.
	Certificates(ctx context.Context, q Query) ([]*Certificate, error)
	// Revoke records a revocation and returns the updated certificate.
	// ErrNotFound for an unknown serial; ErrAlreadyRevoked if revoked with a
	// final reason, or on hold and asked to go on hold again. A certificate
	// on hold (reason 6) may be revoked again with a final reason. A zero
	// r.At means now. Reasons 7 (unused) and 8 (removeFromCRL) are refused.
	Revoke(ctx context.Context, serial string, r Revocation) (*Certificate, error)
	// Release takes a certificate off hold. ErrNotRevoked unless it is on
	// hold.
	Release(ctx context.Context, serial string) (*Certificate, error)
	// RevokedSince streams, ordered by serial, the revoked certificates of
	// a CA whose revocation Revision is greater than after (0: all revoked
	// certificates, for a full CRL), plus, when after > 0, certificates
	// released from hold since then (Released set). fn's error stops the
	// iteration and is returned.
	RevokedSince(ctx context.Context, caID string, after int64, fn func(*RevokedEntry) error) error

	// NextCRLNumber atomically allocates the next CRL number for a CA
	// (starting at 1, or after the number set by SetCRLNumber). A number is
	// never handed out twice, even if the CRL is never stored. Full and
	// delta CRLs share the sequence. ErrNotFound for an unknown CA.
	NextCRLNumber(ctx context.Context, caID string) (int64, error)
	// SetCRLNumber raises the CA's CRL counter so the next number is
	// greater than n (import of an openssl crlnumber file). It never lowers it.
	SetCRLNumber(ctx context.Context, caID string, n int64) error
	// PutCRL stores a signed CRL. It does not replace a newer one: a CRL
	// whose Number is not above the latest stored of the same kind is
	// ignored (nil error, no change recorded). ErrNotFound for an unknown CA.
	PutCRL(ctx context.Context, crl *CRL) error
	// LatestCRL returns the CRL with the highest number of that kind;
	// ErrNotFound if none is stored.
	LatestCRL(ctx context.Context, caID string, delta bool) (*CRL, error)

	// Revision returns the newest change-feed revision (0 when empty). It
	// is cheap (one indexed lookup): servers in other processes poll it,
	// usually through Watch, to notice changes within a second.
	Revision(ctx context.Context) (int64, error)
	// Changes returns up to limit changes with Revision > after, oldest
	// first (limit <= 0: all of them). Failed operations record nothing.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)

	// Meta reads a small named setting ("" and ErrNotFound if absent);
	// SetMeta writes one.
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error

	Close() error
}
