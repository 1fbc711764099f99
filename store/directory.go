package store

import "context"

// ChangeEntry is the change-feed kind of a directory change: one record per
// directory transaction (an LDAP operation, or a whole LDIF import).
const ChangeEntry ChangeKind = "entry"

// DirEntry is one directory entry as the store keeps it. The store does not
// interpret Data: the directory package serialises the attributes. It keys
// entries by NormDN and keeps the tree through ParentID.
type DirEntry struct {
	ID       int64  // assigned by the store on insert; 0 for a new entry
	ParentID int64  // the parent entry's ID; 0 for a naming context (suffix)
	DN       string // user form of the DN, as the directory returns it
	NormDN   string // normalised DN: the unique key
	Data     []byte // serialised attributes
	// Index holds the equality index rows of the entry. Put replaces the
	// entry's rows with these; reads leave it nil.
	Index []DirIndexKey
}

// DirIndexKey is one equality index row: an attribute (normalised name,
// e.g. "uid") and an assertion-ready normalised value.
type DirIndexKey struct {
	Attr, Value string
}

// DirScope is the extent of a directory search below its base.
type DirScope int

// Search scopes, as in RFC 4511 §4.5.1.2.
const (
	DirBase DirScope = 0 // the base entry only
	DirOne  DirScope = 1 // the base's immediate children (not the base)
	DirSub  DirScope = 2 // the base and all its descendants
)

// DirQuery selects entries for DirSearch.
type DirQuery struct {
	Base int64 // ID of the base entry
	// BaseDN is the base's NormDN; with Index set it lets the store check
	// the scope without reading the base (optional: "" makes it read it).
	BaseDN string
	Scope  DirScope
	// Index, when set, restricts the result to entries holding this index
	// row, found through the index (no scan of the scope).
	Index *DirIndexKey
}

// DirectoryStore is the persistence of the LDAP directory information
// tree. Every Store implementation also implements it. Reads see committed
// data only; each DirUpdate is one transaction.
type DirectoryStore interface {
	// DirEntry returns the entry with that normalised DN, or ErrNotFound.
	DirEntry(ctx context.Context, normDN string) (*DirEntry, error)
	// DirSearch streams the entries q selects to fn, in no particular order
	// but without loading them all; fn's error stops it and is returned.
	DirSearch(ctx context.Context, q DirQuery, fn func(*DirEntry) error) error
	// DirChildren counts the immediate children of the entry with that ID.
	DirChildren(ctx context.Context, id int64) (int, error)
	// DirUpdate runs fn in one writing transaction and commits it when fn
	// returns nil (nothing is changed otherwise). When fn changed anything,
	// one ChangeEntry record is appended to the change feed and its
	// revision returned (0 when nothing changed).
	DirUpdate(ctx context.Context, fn func(tx DirTx) error) (int64, error)
}

// DirBulkUpdater is implemented by directory stores with a faster way to
// run one large transaction (an LDIF import). DirBulkUpdate has
// DirUpdate's meaning (all or nothing, durable once it returns) but may
// keep other processes out of the store while it runs.
type DirBulkUpdater interface {
	DirBulkUpdate(ctx context.Context, fn func(tx DirTx) error) (int64, error)
}

// DirTx is the view of one directory write transaction. Its methods see
// the transaction's own writes. It must not be used after DirUpdate's fn
// returns.
type DirTx interface {
	// Entry returns the entry with that normalised DN, or ErrNotFound.
	Entry(normDN string) (*DirEntry, error)
	// Children counts the immediate children of the entry with that ID.
	Children(id int64) (int, error)
	// Put inserts e when e.ID is 0 (setting e.ID; ErrExists if NormDN is
	// taken, ErrNotFound if ParentID names no entry) or replaces the entry
	// with ID e.ID (DN, NormDN, ParentID, Data and index rows).
	Put(e *DirEntry) error
	// Delete removes the entry with that ID and its index rows; ErrNotFound
	// if absent. Entries with children are refused (the caller checks).
	Delete(id int64) error
	// Descendants streams every entry below the one with that ID (not the
	// entry itself), parents before children.
	Descendants(id int64, fn func(*DirEntry) error) error
	// Rename rewrites the DN and NormDN of an entry (descendants included,
	// by whoever calls it for each) without touching its data or index.
	Rename(id int64, dn, normDN string) error
}
