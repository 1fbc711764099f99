package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Tables lists the tables Load fills, in an order that satisfies their
// foreign keys, with their columns. `pkid migrate` copies each from the
// SQLite store, whose tables have the same names and columns.
var Tables = []Table{
	{"meta", []string{"key", "value"}},
	{"cas", []string{"seq", "id", "parent_id", "role", "subject", "cert_der", "key_pem", "encrypted", "url", "ldap_url", "delta_crl", "is_default", "created_at"}},
	{"certificates", []string{"serial", "ca_id", "subject", "profile", "not_before", "not_after", "der", "issued_at", "status", "revoked_at", "reason", "invalidity_date", "revision", "released"}},
	{"crl_numbers", []string{"ca_id", "last"}},
	{"crls", []string{"ca_id", "delta", "number", "base_number", "this_update", "next_update", "revision", "der"}},
	{"changes", []string{"revision", "kind", "ca_id", "serial", "at"}},
	{"dir_entries", []string{"id", "parent_id", "norm_dn", "dn", "data"}},
	{"dir_index", []string{"attr", "value", "entry_id"}},
}

// Table names a table of the store and its columns.
type Table struct {
	Name    string
	Columns []string
}

// Loader fills an empty store inside Load's transaction.
type Loader struct {
	ctx    context.Context
	tx     pgx.Tx
	tables map[string]Table
	copied map[string]int64
}

// Load copies a whole store into this one, which must be empty, in one
// transaction: fn adds the rows with l.Copy, then Load sets the feed to
// revision (the source's last revision, so revisions are preserved and
// never reused), realigns the identity sequences, checks that every table
// holds exactly the rows given to Copy and returns the row counts. If fn
// fails or a count differs, nothing is stored. The changes table is
// locked against writers throughout (EXCLUSIVE: reads go on), so no node
// writes meanwhile.
func (s *Store) Load(ctx context.Context, revision int64, fn func(l *Loader) error) (counts map[string]int64, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE changes IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock the change feed: %w", err)
		}
		f := &feed{tx: tx}
		var used bool
		if err := tx.QueryRow(ctx, `SELECT f.resolved, s.is_called FROM feed_watermark f, feed_revision s`).Scan(&f.rev, &used); err != nil {
			return fmt.Errorf("read the change feed: %w", err)
		}
		if used && f.rev == 0 {
			f.rev = -1 // revisions were drawn: not a new database
		}
		var nonEmpty []string
		for _, t := range Tables {
			var n int64
			if err := f.tx.QueryRow(ctx, `SELECT count(*) FROM `+t.Name).Scan(&n); err != nil {
				return fmt.Errorf("count %s: %w", t.Name, err)
			}
			if n > 0 {
				nonEmpty = append(nonEmpty, fmt.Sprintf("%d rows in %s", n, t.Name))
			}
		}
		if len(nonEmpty) > 0 || f.rev != 0 {
			return fmt.Errorf("the target %s already holds a pkid store (%s, revision %d); migrate into a new, empty database (createdb NAME) instead",
				s.url, strings.Join(nonEmpty, ", "), f.rev)
		}
		l := &Loader{ctx: ctx, tx: f.tx, tables: map[string]Table{}, copied: map[string]int64{}}
		for _, t := range Tables {
			l.tables[t.Name] = t
		}
		if err := fn(l); err != nil {
			return err
		}
		if _, err := f.tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('cas', 'seq'), coalesce((SELECT max(seq) FROM cas), 0) + 1, false)`); err != nil {
			return fmt.Errorf("realign the CA sequence: %w", err)
		}
		if _, err := f.tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('dir_entries', 'id'), coalesce((SELECT max(id) FROM dir_entries), 0) + 1, false)`); err != nil {
			return fmt.Errorf("realign the directory entry sequence: %w", err)
		}
		var maxRev int64
		if err := f.tx.QueryRow(ctx, `SELECT greatest((SELECT coalesce(max(revision), 0) FROM changes), (SELECT coalesce(max(revision), 0) FROM certificates))`).Scan(&maxRev); err != nil {
			return err
		}
		if revision < maxRev {
			revision = maxRev
		}
		// Every revision up to the source's last is resolved (the rows are
		// here); new ones continue above it.
		if _, err := f.tx.Exec(ctx, `WITH u AS (UPDATE feed_watermark SET resolved = $1::bigint)
			SELECT setval('feed_revision', greatest($1::bigint, 1), $1::bigint > 0), pg_notify('pkid_changes', $1::bigint::text)`, revision); err != nil {
			return fmt.Errorf("set the change feed to revision %d: %w", revision, err)
		}
		counts = map[string]int64{}
		for _, t := range Tables {
			var n int64
			if err := f.tx.QueryRow(ctx, `SELECT count(*) FROM `+t.Name).Scan(&n); err != nil {
				return fmt.Errorf("count %s: %w", t.Name, err)
			}
			if n != l.copied[t.Name] {
				return fmt.Errorf("load: %s holds %d rows after copying %d", t.Name, n, l.copied[t.Name])
			}
			counts[t.Name] = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// Copy adds rows to a table of Tables, values in the order of its Columns:
// text as string, integers as int64, booleans as bool, times as time.Time
// (nil for NULL), binary as []byte.
func (l *Loader) Copy(table string, rows [][]any) error {
	t, ok := l.tables[table]
	if !ok {
		return fmt.Errorf("load: unknown table %q", table)
	}
	if _, err := l.tx.CopyFrom(l.ctx, pgx.Identifier{t.Name}, t.Columns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	l.copied[table] += int64(len(rows))
	return nil
}
