package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/pkid/pkid/store"
)

const certColumns = `serial, ca_id, subject, profile, not_before, not_after, der, issued_at, status, revoked_at, reason, invalidity_date, revision`

// addQuery stores a batch in one statement: it appends one "issue" change
// per certificate with a revision drawn from feed_revision, inserts the
// certificates with those revisions and sends the notification; it
// returns each serial with its revision. As a single statement it is one
// round trip and needs no lock: writers on every node commit concurrently.
// Foreign keys and the primary keys make it all or none; should a reader
// have declared a drawn revision a gap meanwhile (feed.go), changes_pkey
// fails it and AddCertificates runs it again.
const addQuery = `
WITH c AS (
	INSERT INTO changes (revision, kind, ca_id, serial, at)
	SELECT nextval('feed_revision'), 'issue', u.ca_id, u.serial, $13::timestamptz
	FROM unnest($1::text[], $2::text[]) AS u(serial, ca_id)
	RETURNING revision, serial
), i AS (
	INSERT INTO certificates (` + certColumns + `)
	SELECT u.serial, u.ca_id, u.subject, u.profile, u.not_before, u.not_after, u.der, u.issued_at,
		u.status, u.revoked_at, u.reason, u.invalidity_date, c.revision
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
		$7::bytea[], $8::timestamptz[], $9::text[], $10::timestamptz[], $11::int[], $12::timestamptz[])
		AS u(serial, ca_id, subject, profile, not_before, not_after, der, issued_at,
			status, revoked_at, reason, invalidity_date)
		JOIN c ON c.serial = u.serial
), n AS (
	SELECT pg_notify('pkid_changes', (SELECT max(revision) FROM c)::text)
)
SELECT c.serial, c.revision FROM c, n`

// copyChangesQuery appends the "issue" changes of a COPY batch (see
// appendQuery for DO NOTHING) and returns each serial with its revision.
const copyChangesQuery = `INSERT INTO changes (revision, kind, ca_id, serial, at)
	SELECT nextval('feed_revision'), 'issue', u.ca_id, u.serial, $3::timestamptz
	FROM unnest($1::text[], $2::text[]) AS u(serial, ca_id)
	ON CONFLICT (revision) DO NOTHING RETURNING serial, revision`

// copyThreshold is the batch size from which AddCertificates uses COPY.
const copyThreshold = 64

var keyDetail = regexp.MustCompile(`\)=\(([^)]*)\)`)

// AddCertificates stores newly issued or imported certificates, all or
// none. ErrExists (naming the serial) if any serial is already stored or
// repeated in certs; ErrNotFound (naming the CA) if a certificate's CA is
// not stored. On success each certificate's Revision is set from the feed
// (one "issue" change per certificate), its Serial is upper-cased, an empty
// Status becomes StatusValid and a zero IssuedAt the current time.
// Imported certificates may arrive already revoked (a zero RevokedAt then
// means now).
func (s *Store) AddCertificates(ctx context.Context, certs []*store.Certificate) error {
	if len(certs) == 0 {
		return nil
	}
	now := time.Now()
	n := len(certs)
	var (
		cas, subjects, profiles, statuses           = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		notBefore, notAfter, issued, revoked, inval = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
		ders                                        = make([][]byte, n)
		reasons                                     = make([]int32, n)
	)
	serials, err := store.CheckNewCertificates(certs)
	if err != nil {
		return err
	}
	for i, c := range certs {
		status := c.Status
		if status == "" {
			status = store.StatusValid
		}
		if status == store.StatusRevoked {
			at := c.RevokedAt
			if at.IsZero() {
				at = now
			}
			revoked[i], reasons[i], inval[i] = ts(at), int32(c.Reason), ts(c.InvalidityDate)
		}
		at := c.IssuedAt
		if at.IsZero() {
			at = now
		}
		cas[i], subjects[i], profiles[i], statuses[i] = c.CAID, c.Subject, c.Profile, string(status)
		notBefore[i], notAfter[i], issued[i], ders[i] = ts(c.NotBefore), ts(c.NotAfter), ts(at), c.DER
	}
	revs := make(map[string]int64, n)
	collect := func(rows pgx.Rows) error {
		var serial string
		var rev int64
		_, err := pgx.ForEachRow(rows, []any{&serial, &rev}, func() error {
			revs[serial] = rev
			return nil
		})
		return err
	}
	if n < copyThreshold {
		for range maxAppendTries {
			clear(revs)
			err = s.retry(ctx, func() error {
				rows, err := s.pool.Query(ctx, addQuery, serials, cas, subjects, profiles, notBefore, notAfter, ders, issued,
					statuses, revoked, reasons, inval, now)
				if err != nil {
					return err
				}
				return collect(rows)
			})
			if code, constraint, _ := pgCode(err); code != uniqueViolation || constraint != "changes_pkey" {
				break
			}
		}
	} else {
		// Large batches (imports, group commits): COPY is several times
		// faster per row than an INSERT from arrays, worth its extra
		// round trips. The changes go first, so each revision is drawn
		// and inserted in one statement.
		err = s.writeFeed(ctx, func(f *feed) error {
			clear(revs)
			todoSerials, todoCAs := serials, cas
			for try := 0; len(todoSerials) > 0; try++ {
				if try == maxAppendTries {
					return fmt.Errorf("append issue changes: %d revisions in a row were declared gaps by readers", maxAppendTries)
				}
				rows, err := f.tx.Query(ctx, copyChangesQuery, todoSerials, todoCAs, now)
				if err != nil {
					return err
				}
				if err := collect(rows); err != nil {
					return err
				}
				var ms, mc []string
				for i, serial := range todoSerials {
					if _, ok := revs[serial]; !ok {
						ms, mc = append(ms, serial), append(mc, todoCAs[i])
					}
				}
				todoSerials, todoCAs = ms, mc
			}
			rows := make([][]any, n)
			for i := range n {
				rev := revs[serials[i]]
				f.rev = max(f.rev, rev)
				rows[i] = []any{serials[i], cas[i], subjects[i], profiles[i], notBefore[i], notAfter[i], ders[i], issued[i],
					statuses[i], revoked[i], reasons[i], inval[i], rev}
			}
			if _, err := f.tx.CopyFrom(ctx, pgx.Identifier{"certificates"}, strings.Split(certColumns, ", "), pgx.CopyFromRows(rows)); err != nil {
				return err
			}
			f.changed = true
			return nil
		})
	}
	if code, constraint, detail := pgCode(err); code == uniqueViolation && constraint == "certificates_pkey" {
		serial := "?"
		if m := keyDetail.FindStringSubmatch(detail); m != nil {
			serial = m[1]
		}
		return fmt.Errorf("add certificate %s: serial number %w", serial, store.ErrExists)
	} else if code == foreignKeyViolation {
		ca := "?"
		if m := keyDetail.FindStringSubmatch(detail); m != nil {
			ca = m[1]
		}
		return fmt.Errorf("add certificates: CA %q: %w", ca, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("add certificates: %w", err)
	}
	revList := make([]int64, n)
	for i, serial := range serials {
		revList[i] = revs[serial]
	}
	store.FinishNewCertificates(certs, serials, revList, now)
	return nil
}

// Certificate returns one certificate by serial (hex; case does not matter).
func (s *Store) Certificate(ctx context.Context, serial string) (*store.Certificate, error) {
	norm, err := store.NormalizeSerial(serial)
	if err != nil {
		return nil, fmt.Errorf("certificate %q: %w", serial, store.ErrNotFound)
	}
	var c *store.Certificate
	err = s.retry(ctx, func() (err error) {
		c, err = scanCertificate(s.pool.QueryRow(ctx, `SELECT `+certColumns+` FROM certificates WHERE serial = $1`, norm))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("certificate %s: %w", norm, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", norm, err)
	}
	return c, nil
}

func scanCertificate(r pgx.Row) (*store.Certificate, error) {
	var c store.Certificate
	var notBefore, notAfter, issued, revoked, invalidity pgtype.Timestamptz
	var status string
	var reason int32
	if err := r.Scan(&c.Serial, &c.CAID, &c.Subject, &c.Profile, &notBefore, &notAfter, &c.DER, &issued,
		&status, &revoked, &reason, &invalidity, &c.Revision); err != nil {
		return nil, err
	}
	c.Status, c.Reason = store.Status(status), int(reason)
	c.NotBefore, c.NotAfter, c.IssuedAt = fromTS(notBefore), fromTS(notAfter), fromTS(issued)
	c.RevokedAt, c.InvalidityDate = fromTS(revoked), fromTS(invalidity)
	return &c, nil
}

// Certificates lists certificates matching q, ordered by IssuedAt then
// serial. A certificate without NotAfter never counts as expired.
func (s *Store) Certificates(ctx context.Context, q store.Query) ([]*store.Certificate, error) {
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if q.CAID != "" {
		arg("ca_id = ?", q.CAID)
	}
	switch q.Status {
	case "":
	case store.StatusValid, store.StatusRevoked:
		arg("status = ?", string(q.Status))
	default:
		return nil, fmt.Errorf("list certificates: unknown status %q (want %q or %q)", q.Status, store.StatusValid, store.StatusRevoked)
	}
	if q.Expired != nil {
		now := q.Now
		if now.IsZero() {
			now = time.Now()
		}
		if *q.Expired {
			arg("not_after < ?", now)
		} else {
			arg("(not_after IS NULL OR not_after >= ?)", now)
		}
	}
	if !q.NotAfterBefore.IsZero() {
		arg("not_after < ?", q.NotAfterBefore)
	}
	query := `SELECT ` + certColumns + ` FROM certificates`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY issued_at, serial`
	if q.Limit > 0 {
		args = append(args, q.Limit)
		query += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	var out []*store.Certificate
	err := s.retry(ctx, func() error {
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Certificate, error) { return scanCertificate(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	return out, nil
}

// Revoke records a revocation and returns the updated certificate, with a
// new Revision. A zero r.At means now. ErrNotFound for an unknown serial;
// ErrAlreadyRevoked if revoked with a final reason, or on hold and asked to
// go on hold again. A certificate on hold may be revoked again with a final
// reason; RevokedAt then becomes r.At.
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
	err = s.writeFeed(ctx, func(f *feed) error {
		var caID, status string
		var reason int
		// FOR NO KEY UPDATE: concurrent revocations of one certificate
		// take turns, so the revocation rule sees the other's outcome.
		err := f.tx.QueryRow(ctx, `SELECT ca_id, status, reason FROM certificates WHERE serial = $1 FOR NO KEY UPDATE`, norm).Scan(&caID, &status, &reason)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("revoke certificate %s: %w", norm, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		if err := store.CheckRevocable(store.Status(status), reason, r.Reason); err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		rev, err := f.append(ctx, store.ChangeRevoke, caID, norm, now)
		if err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		out, err = scanCertificate(f.tx.QueryRow(ctx, `UPDATE certificates SET status = 'revoked', revoked_at = $1, reason = $2,
			invalidity_date = $3, revision = $4, released = false WHERE serial = $5 RETURNING `+certColumns,
			at, r.Reason, ts(r.InvalidityDate), rev, norm))
		if err != nil {
			return fmt.Errorf("revoke certificate %s: %w", norm, err)
		}
		return nil
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
	err = s.writeFeed(ctx, func(f *feed) error {
		var caID, status string
		var reason int
		// FOR NO KEY UPDATE: concurrent revocations of one certificate
		// take turns, so the revocation rule sees the other's outcome.
		err := f.tx.QueryRow(ctx, `SELECT ca_id, status, reason FROM certificates WHERE serial = $1 FOR NO KEY UPDATE`, norm).Scan(&caID, &status, &reason)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("release certificate %s: %w", norm, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("release certificate %s: %w", norm, err)
		}
		if status != string(store.StatusRevoked) || reason != store.ReasonHold {
			return fmt.Errorf("release certificate %s: %w on hold", norm, store.ErrNotRevoked)
		}
		rev, err := f.append(ctx, store.ChangeRelease, caID, norm, time.Now())
		if err != nil {
			return fmt.Errorf("release certificate %s: %w", norm, err)
		}
		out, err = scanCertificate(f.tx.QueryRow(ctx, `UPDATE certificates SET status = 'valid', revoked_at = NULL, reason = 0,
			invalidity_date = NULL, revision = $1, released = true WHERE serial = $2 RETURNING `+certColumns, rev, norm))
		if err != nil {
			return fmt.Errorf("release certificate %s: %w", norm, err)
		}
		return nil
	})
	return out, err
}

// RevokedSince streams, ordered by serial, the revoked certificates of a CA
// whose revocation Revision is greater than after (after <= 0: every
// revoked certificate, for a full CRL), plus, when after > 0, certificates
// released from hold since then (Released set). The rows come from one
// query (a consistent snapshot) and are read from the connection as fn
// consumes them. fn's error stops the iteration and is returned.
func (s *Store) RevokedSince(ctx context.Context, caID string, after int64, fn func(*store.RevokedEntry) error) error {
	query, args := `SELECT serial, revoked_at, reason, invalidity_date, revision, false FROM certificates
		WHERE ca_id = $1 AND status = 'revoked' ORDER BY serial`, []any{caID}
	if after > 0 {
		query, args = `SELECT serial, revoked_at, reason, invalidity_date, revision, released FROM certificates
			WHERE ca_id = $1 AND revision > $2 AND (status = 'revoked' OR released) ORDER BY serial`, []any{caID, after}
	}
	var rows pgx.Rows
	err := s.retry(ctx, func() (err error) {
		rows, err = s.pool.Query(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("read revocations of CA %q: %w", caID, err)
	}
	defer rows.Close()
	var revokedAt, invalidity pgtype.Timestamptz
	var reason int32
	for rows.Next() {
		if err := ctx.Err(); err != nil { // rows already buffered would not notice
			return fmt.Errorf("read revocations of CA %q: %w", caID, err)
		}
		var e store.RevokedEntry
		if err := rows.Scan(&e.Serial, &revokedAt, &reason, &invalidity, &e.Revision, &e.Released); err != nil {
			return fmt.Errorf("read revocations of CA %q: %w", caID, err)
		}
		e.RevokedAt, e.Reason, e.InvalidityDate = fromTS(revokedAt), int(reason), fromTS(invalidity)
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read revocations of CA %q: %w", caID, s.hint(err))
	}
	return nil
}
