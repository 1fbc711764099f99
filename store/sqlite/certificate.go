package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pkid/pkid/store"
	sqlite3 "modernc.org/sqlite/lib"
)

const certColumns = `serial, ca_id, subject, profile, not_before, not_after, der, issued_at, status, revoked_at, reason, invalidity_date, revision`

// AddCertificates stores newly issued or imported certificates, all or
// none, in one transaction. ErrExists (naming the serial) if any serial is
// already stored or repeated in certs; ErrNotFound (naming the CA) if a
// certificate's CA is not stored. On success each certificate's Revision
// is set from the feed (one "issue" change per certificate), its Serial is
// upper-cased, an empty Status becomes StatusValid and a zero IssuedAt the
// current time. Imported certificates may arrive already revoked (a zero
// RevokedAt then means now).
func (s *Store) AddCertificates(ctx context.Context, certs []*store.Certificate) error {
	if len(certs) == 0 {
		return nil
	}
	now := time.Now()
	serials, err := store.CheckNewCertificates(certs)
	if err != nil {
		return err
	}
	cas := map[string]bool{}
	for _, c := range certs {
		cas[c.CAID] = true
	}
	// Prepare the INSERTs before the transaction: preparing takes a
	// connection from the pool, and inside the transaction that could wait
	// for the one the transaction holds.
	caStmt, err := s.prepared(ctx, caExistsSQL)
	if err != nil {
		return fmt.Errorf("add certificates: %w%s", err, hint(err, s.path))
	}
	stmts := map[int]*addStmts{}
	for lo := 0; lo < len(certs); lo += chunkLen(len(certs) - lo) {
		n := chunkLen(len(certs) - lo)
		if stmts[n] == nil {
			st, err := s.addStatements(ctx, n)
			if err != nil {
				return fmt.Errorf("add certificates: %w%s", err, hint(err, s.path))
			}
			stmts[n] = st
		}
	}
	revs := make([]int64, len(certs))
	err = s.writeMemJournal(ctx, func(tx *sql.Tx) error {
		caStmt := tx.StmtContext(ctx, caStmt)
		for id := range cas {
			if err := caExistsWith(ctx, caStmt.QueryRowContext(ctx, id), id); err != nil {
				return fmt.Errorf("add certificates: %w", err)
			}
		}
		at := now.UnixMicro()
		for lo := 0; lo < len(certs); {
			hi := lo + chunkLen(len(certs)-lo)
			err := addChunkRows(ctx, tx, stmts[hi-lo], certs[lo:hi], serials[lo:hi], revs[lo:hi], now, at)
			if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
				// A failed statement is undone on its own (SQLite's
				// default ABORT), the transaction lives on: find the
				// offending serial row by row, to name it.
				err = addRows(ctx, tx, certs[lo:hi], serials[lo:hi], revs[lo:hi], now, at)
			}
			if err != nil {
				return err
			}
			lo = hi
		}
		return nil
	})
	if err != nil {
		return err
	}
	store.FinishNewCertificates(certs, serials, revs, now)
	return nil
}

// writeMemJournal is write with the statement journals of the
// transaction in memory. A multi-row INSERT keeps a statement journal, a
// copy of every page it changes, to undo itself alone on a constraint
// violation; SQLite spills it to a temporary file beyond 64 KiB, which a
// 64-row INSERT of random serials passes (a leaf page of the serial index
// per row): about a sixth of AddCertificates' CPU time went into writing
// that file. temp_store = MEMORY keeps it in memory (a few hundred KiB
// at most per statement); it is set on a connection of its own for the
// transaction and reset afterwards, so that other queries on the
// connection keep spilling large sorts to disk.
func (s *Store) writeMemJournal(ctx context.Context, fn func(tx *sql.Tx) error) error {
	// The writers' lock first, then a connection, as in write.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w%s", s.path, err, hint(err, s.path))
	}
	defer conn.Close()
	// SQLite reads the setting when a transaction begins.
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		return fmt.Errorf("set temp_store on %s: %w%s", s.path, err, hint(err, s.path))
	}
	defer func() {
		if _, err := conn.ExecContext(context.Background(), "PRAGMA temp_store = DEFAULT"); err != nil {
			// Do not hand the connection back with the setting.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return s.writeOn(ctx, conn, fn)
}

// Certificate returns one certificate by serial (hex; case does not matter).
func (s *Store) Certificate(ctx context.Context, serial string) (*store.Certificate, error) {
	// Every EXTERNAL bind and certificate check reads here: the statement
	// is prepared once rather than parsed per call.
	st, err := s.prepared(ctx, certBySerial)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", serial, err)
	}
	return getCertificate(serial, func(norm string) *sql.Row { return st.QueryRowContext(ctx, norm) })
}

const certBySerial = `SELECT ` + certColumns + ` FROM certificates WHERE serial = ?`

// txCertificate reads a certificate inside the transaction tx.
func txCertificate(ctx context.Context, tx *sql.Tx, serial string) (*store.Certificate, error) {
	return getCertificate(serial, func(norm string) *sql.Row { return tx.QueryRowContext(ctx, certBySerial, norm) })
}

// getCertificate normalises serial and scans the row that query returns
// for it.
func getCertificate(serial string, query func(norm string) *sql.Row) (*store.Certificate, error) {
	norm, err := store.NormalizeSerial(serial)
	if err != nil {
		return nil, fmt.Errorf("certificate %q: %w", serial, store.ErrNotFound)
	}
	c, err := scanCertificate(query(norm))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("certificate %s: %w", norm, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", norm, err)
	}
	return c, nil
}

func scanCertificate(r scanner) (*store.Certificate, error) {
	var c store.Certificate
	var notBefore, notAfter, issued, revoked, invalidity sql.NullInt64
	var status string
	if err := r.Scan(&c.Serial, &c.CAID, &c.Subject, &c.Profile, &notBefore, &notAfter, &c.DER, &issued,
		&status, &revoked, &c.Reason, &invalidity, &c.Revision); err != nil {
		return nil, err
	}
	c.Status = store.Status(status)
	c.NotBefore, c.NotAfter, c.IssuedAt = fromMicros(notBefore), fromMicros(notAfter), fromMicros(issued)
	c.RevokedAt, c.InvalidityDate = fromMicros(revoked), fromMicros(invalidity)
	return &c, nil
}

// Certificates lists certificates matching q, ordered by IssuedAt then
// serial. A certificate without NotAfter (an imported index entry lacking
// one) never counts as expired.
func (s *Store) Certificates(ctx context.Context, q store.Query) ([]*store.Certificate, error) {
	var where []string
	var args []any
	if q.CAID != "" {
		where, args = append(where, "ca_id = ?"), append(args, q.CAID)
	}
	switch q.Status {
	case "":
	case store.StatusValid, store.StatusRevoked:
		where, args = append(where, "status = ?"), append(args, string(q.Status))
	default:
		return nil, fmt.Errorf("list certificates: unknown status %q (want %q or %q)", q.Status, store.StatusValid, store.StatusRevoked)
	}
	if q.Expired != nil {
		now := q.Now
		if now.IsZero() {
			now = time.Now()
		}
		if *q.Expired {
			where = append(where, "not_after < ?")
		} else {
			where = append(where, "(not_after IS NULL OR not_after >= ?)")
		}
		args = append(args, now.UnixMicro())
	}
	if !q.NotAfterBefore.IsZero() {
		where, args = append(where, "not_after < ?"), append(args, q.NotAfterBefore.UnixMicro())
	}
	query := `SELECT ` + certColumns + ` FROM certificates`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY issued_at, serial`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	defer rows.Close()
	var out []*store.Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, fmt.Errorf("list certificates: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	return out, nil
}

// Revoke records a revocation and returns the updated certificate, with a
// new Revision. A zero r.At means now. ErrNotFound for an unknown serial;
// ErrAlreadyRevoked if revoked with a final reason, or on hold and asked to
// go on hold again. A certificate on hold (reason 6) may be revoked again
// with a final reason; RevokedAt then becomes r.At.
func (s *Store) Revoke(ctx context.Context, serial string, r store.Revocation) (*store.Certificate, error) {
	if err := store.CheckReason(r.Reason); err != nil {
		return nil, fmt.Errorf("revoke certificate %s: %w", serial, err)
	}
	norm, err := store.NormalizeSerial(serial)
	if err != nil {
		return nil, fmt.Errorf("revoke certificate %q: %w", serial, store.ErrNotFound)
	}
	now := time.Now()
	at := r.At
	if at.IsZero() {
		at = now
	}
	var out *store.Certificate
	err = s.write(ctx, func(tx *sql.Tx) error {
		var caID, status string
		var reason int
		err := tx.QueryRowContext(ctx, `SELECT ca_id, status, reason FROM certificates WHERE serial = ?`, norm).Scan(&caID, &status, &reason)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("revoke certificate %s: %w", norm, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		if err := store.CheckRevocable(store.Status(status), reason, r.Reason); err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		rev, err := appendChange(ctx, tx, store.ChangeRevoke, caID, norm, now)
		if err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ?, invalidity_date = ?, revision = ?, released = 0 WHERE serial = ?`,
			at.UnixMicro(), r.Reason, micros(r.InvalidityDate), rev, norm); err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		out, err = txCertificate(ctx, tx, norm)
		return err
	})
	return out, err
}

// Release takes a certificate off hold and returns it, valid again with a
// new Revision. ErrNotRevoked unless it is on hold; ErrNotFound for an
// unknown serial.
func (s *Store) Release(ctx context.Context, serial string) (*store.Certificate, error) {
	norm, err := store.NormalizeSerial(serial)
	if err != nil {
		return nil, fmt.Errorf("release certificate %q: %w", serial, store.ErrNotFound)
	}
	var out *store.Certificate
	err = s.write(ctx, func(tx *sql.Tx) error {
		var caID, status string
		var reason int
		err := tx.QueryRowContext(ctx, `SELECT ca_id, status, reason FROM certificates WHERE serial = ?`, norm).Scan(&caID, &status, &reason)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("release certificate %s: %w", norm, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("release certificate %s: %w", norm, err)
		}
		if status != string(store.StatusRevoked) || reason != store.ReasonHold {
			return fmt.Errorf("release certificate %s: %w on hold", norm, store.ErrNotRevoked)
		}
		rev, err := appendChange(ctx, tx, store.ChangeRelease, caID, norm, time.Now())
		if err != nil {
			return fmt.Errorf("release certificate %s: %w", norm, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE certificates SET status = 'valid', revoked_at = NULL, reason = 0, invalidity_date = NULL, revision = ?, released = 1 WHERE serial = ?`,
			rev, norm); err != nil {
			return fmt.Errorf("release certificate %s: %w", norm, err)
		}
		out, err = txCertificate(ctx, tx, norm)
		return err
	})
	return out, err
}

// The queries behind RevokedSince. For full CRLs the literal status =
// 'revoked' lets SQLite answer from the covering partial index alone; delta
// CRLs read only what changed after the revision (index on ca_id,
// revision). TestQueryPlans keeps them so.
const (
	fullCRLQuery = `SELECT serial, revoked_at, reason, invalidity_date, revision, 0 FROM certificates
		WHERE ca_id = ? AND status = 'revoked' ORDER BY serial`
	deltaCRLQuery = `SELECT serial, revoked_at, reason, invalidity_date, revision, released FROM certificates
		WHERE ca_id = ? AND revision > ? AND (status = 'revoked' OR released = 1) ORDER BY serial`
)

// RevokedSince streams, ordered by serial, the revoked certificates of a CA
// whose revocation Revision is greater than after (after <= 0: every
// revoked certificate, for a full CRL), plus, when after > 0, certificates
// released from hold since then (Released set). Rows are read one at a time
// from a single query, a consistent snapshot, so a million entries never
// sit in memory at once. fn's error stops the iteration and is returned.
func (s *Store) RevokedSince(ctx context.Context, caID string, after int64, fn func(*store.RevokedEntry) error) error {
	query, args := fullCRLQuery, []driver.NamedValue{{Ordinal: 1, Value: caID}}
	if after > 0 {
		query, args = deltaCRLQuery, append(args, driver.NamedValue{Ordinal: 2, Value: after})
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("read revocations of CA %q: %w", caID, err)
	}
	defer conn.Close()
	var fnErr error
	err = conn.Raw(func(dc any) error {
		// The driver's rows directly: database/sql's Scan conversions cost
		// a third of the time when a full CRL streams a million rows.
		rows, err := dc.(driver.QueryerContext).QueryContext(ctx, query, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		row := make([]driver.Value, 6)
		for i := 0; ; i++ {
			if i%256 == 0 && ctx.Err() != nil { // the driver only checks ctx when the query starts
				return ctx.Err()
			}
			if err := rows.Next(row); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			e := &store.RevokedEntry{
				Serial:         asString(row[0]),
				RevokedAt:      asTime(row[1]),
				Reason:         int(asInt(row[2])),
				InvalidityDate: asTime(row[3]),
				Revision:       asInt(row[4]),
				Released:       asInt(row[5]) != 0,
			}
			if fnErr = fn(e); fnErr != nil {
				return fnErr
			}
		}
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("read revocations of CA %q: %w", caID, err)
	}
	return nil
}

// asInt, asString and asTime read driver values; NULL gives the zero value.
func asInt(v driver.Value) int64 {
	n, _ := v.(int64)
	return n
}

func asString(v driver.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

func asTime(v driver.Value) time.Time {
	n, ok := v.(int64)
	if !ok {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// addChunk is how many certificates one multi-row INSERT carries at most:
// 13 parameters each, far below SQLite's limit of 32,766, and large enough
// that driver round trips cost little per row.
const addChunk = 64

// chunkLen is the number of rows of the next INSERT for n remaining rows:
// addChunk, or the largest power of two not above n. The statements are
// prepared once per Store and row count (modernc's SQLite otherwise parses
// a 64-row INSERT on every call), so the row counts are kept to the seven
// powers of two up to addChunk rather than every count up to it.
func chunkLen(n int) int {
	if n >= addChunk {
		return addChunk
	}
	c := 1
	for c*2 <= n {
		c *= 2
	}
	return c
}

// addSQL caches the multi-row INSERT statements by row count.
var addSQL [addChunk + 1]struct {
	once          sync.Once
	changes, cert string
}

// addStmts are the prepared INSERTs of n certificates and their changes.
type addStmts struct {
	changes, cert *sql.Stmt
}

// addStatements returns the prepared INSERTs for n rows.
func (s *Store) addStatements(ctx context.Context, n int) (*addStmts, error) {
	chgSQL, certSQL := addSQLText(n)
	chg, err := s.prepared(ctx, chgSQL)
	if err != nil {
		return nil, err
	}
	cert, err := s.prepared(ctx, certSQL)
	if err != nil {
		return nil, err
	}
	return &addStmts{changes: chg, cert: cert}, nil
}

func addSQLText(n int) (changes, cert string) {
	s := &addSQL[n]
	s.once.Do(func() {
		var b strings.Builder
		b.WriteString(`INSERT INTO changes (kind, ca_id, serial, at) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`('issue', ?, ?, ?)`)
		}
		s.changes = b.String()
		b.Reset()
		b.WriteString(`INSERT INTO certificates (` + certColumns + `) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		}
		s.cert = b.String()
	})
	return s.changes, s.cert
}

// certRow returns c's column values after the serial and CA (profile,
// validity, DER, issue time, status, revocation columns), as stored.
func certRow(c *store.Certificate, now time.Time, at int64) (issued, status, revokedAt any, reason int, invalidity any) {
	st, iss := c.Status, c.IssuedAt
	if st == "" {
		st = store.StatusValid
	}
	if iss.IsZero() {
		iss = now
	}
	if st == store.StatusRevoked {
		revokedAt, reason, invalidity = micros(c.RevokedAt), c.Reason, micros(c.InvalidityDate)
		if c.RevokedAt.IsZero() {
			revokedAt = at
		}
	}
	return micros(iss), string(st), revokedAt, reason, invalidity
}

// addChunkRows inserts certs with one "issue" change each, in two
// multi-row statements, and sets revs. The changes get consecutive
// revisions in VALUES order: AUTOINCREMENT gives each new row one more than
// the largest ever used, rows of one INSERT are inserted in order, and the
// write transaction (s.wmu and SQLite's write lock) excludes every other
// writer; so the first row's revision is the last one's minus len-1.
func addChunkRows(ctx context.Context, tx *sql.Tx, stmts *addStmts, certs []*store.Certificate, serials []string, revs []int64, now time.Time, at int64) error {
	// The transaction's handles on the prepared statements: prepared once
	// per connection, closed with the transaction.
	chgStmt, certStmt := tx.StmtContext(ctx, stmts.changes), tx.StmtContext(ctx, stmts.cert)
	args := make([]any, 0, 13*len(certs))
	for i, c := range certs {
		args = append(args, c.CAID, serials[i], at)
	}
	res, err := chgStmt.ExecContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("add certificates: record changes: %w", err)
	}
	last, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("add certificates: record changes: %w", err)
	}
	first := last - int64(len(certs)) + 1
	args = args[:0]
	for i, c := range certs {
		revs[i] = first + int64(i)
		issued, status, revokedAt, reason, invalidity := certRow(c, now, at)
		args = append(args, serials[i], c.CAID, c.Subject, c.Profile, micros(c.NotBefore), micros(c.NotAfter),
			c.DER, issued, status, revokedAt, reason, invalidity, revs[i])
	}
	if _, err := certStmt.ExecContext(ctx, args...); err != nil {
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			// Undo this chunk's changes so that the row-by-row retry
			// records them once.
			if _, derr := tx.ExecContext(ctx, `DELETE FROM changes WHERE revision BETWEEN ? AND ?`, first, last); derr != nil {
				return fmt.Errorf("add certificates: %w", derr)
			}
			return err
		}
		return fmt.Errorf("add certificates: %w", err)
	}
	return nil
}

// addRows inserts certs one statement per row, and names the serial of a
// row that fails.
func addRows(ctx context.Context, tx *sql.Tx, certs []*store.Certificate, serials []string, revs []int64, now time.Time, at int64) error {
	for i, c := range certs {
		res, err := tx.ExecContext(ctx, `INSERT INTO changes (kind, ca_id, serial, at) VALUES ('issue', ?, ?, ?)`, c.CAID, serials[i], at)
		if err != nil {
			return fmt.Errorf("add certificate %s: %w", serials[i], err)
		}
		if revs[i], err = res.LastInsertId(); err != nil {
			return fmt.Errorf("add certificate %s: %w", serials[i], err)
		}
		issued, status, revokedAt, reason, invalidity := certRow(c, now, at)
		_, err = tx.ExecContext(ctx, `INSERT INTO certificates (`+certColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			serials[i], c.CAID, c.Subject, c.Profile, micros(c.NotBefore), micros(c.NotAfter),
			c.DER, issued, status, revokedAt, reason, invalidity, revs[i])
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return fmt.Errorf("add certificate %s: serial number %w", serials[i], store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("add certificate %s: %w", serials[i], err)
		}
	}
	return nil
}
