package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pkid/pkid/store/postgres"
	"github.com/pkid/pkid/store/sqlite"
)

func init() {
	register(&command{
		name:    "migrate",
		args:    "--to postgres://USER@HOST/DATABASE",
		summary: "copy the SQLite store of --dir into an empty PostgreSQL database",
		example: "createdb pkid\npkid migrate --dir pkid-data --to postgres://pkid@127.0.0.1/pkid\nPKID_STORE=postgres://pkid@127.0.0.1/pkid pkid list",
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			to := fs.String("to", "", "PostgreSQL URL of the empty target database")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if !isPostgresURL(*to) {
					return usagef("--to must be a postgres:// URL of an empty database")
				}
				if isPostgresURL(g.storeURL) {
					return usagef("migrate copies an SQLite store; --store (or PKID_STORE) names PostgreSQL already")
				}
				return g.migrate(ctx, *to)
			}
		},
	})
}

// Column kinds that differ between the stores: SQLite keeps times as Unix
// microseconds and booleans as 0/1.
var (
	timeColumns = map[string]bool{"created_at": true, "not_before": true, "not_after": true, "issued_at": true,
		"revoked_at": true, "invalidity_date": true, "this_update": true, "next_update": true, "at": true}
	boolColumns = map[string]bool{"encrypted": true, "delta_crl": true, "is_default": true, "released": true, "delta": true}
)

// migrateBatch is how many rows go to PostgreSQL per COPY.
const migrateBatch = 1000

func (g *globals) migrate(ctx context.Context, to string) error {
	// Open through the store first: it checks the file and brings its
	// schema up to date, so the tables below are the ones expected.
	st, err := g.openStore(ctx, false)
	if err != nil {
		return err
	}
	path := st.(*sqlite.Store).Path()
	q := url.Values{"_busy_timeout": {"30000"}}
	src, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer src.Close()
	// One read transaction: a consistent snapshot even if pkid serve
	// writes meanwhile.
	rtx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer rtx.Rollback()
	if err := checkMigratable(ctx, rtx, path); err != nil {
		return err
	}
	var revision int64
	if err := rtx.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), (SELECT max(revision) FROM changes), 0)`).Scan(&revision); err != nil {
		return fmt.Errorf("read the revision of %s: %w", path, err)
	}

	dst, err := postgres.Open(ctx, to)
	if err != nil {
		return err
	}
	defer dst.Close()
	start := time.Now()
	want := map[string]int64{}
	counts, err := dst.Load(ctx, revision, func(l *postgres.Loader) error {
		for _, t := range postgres.Tables {
			n, err := copyTable(ctx, rtx, l, t)
			if err != nil {
				return err
			}
			var have int64
			if err := rtx.QueryRowContext(ctx, `SELECT count(*) FROM `+t.Name).Scan(&have); err != nil {
				return fmt.Errorf("count %s in %s: %w", t.Name, path, err)
			}
			if n != have {
				return fmt.Errorf("copied %d rows of %s but %s holds %d; nothing was migrated", n, t.Name, path, have)
			}
			want[t.Name] = have
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate %s to %s: %w", path, postgres.RedactURL(to), err)
	}
	fmt.Fprintf(g.stdout, "migrated %s to %s in %s (revision %d):\n", path, postgres.RedactURL(to), time.Since(start).Round(time.Millisecond), revision)
	for _, t := range postgres.Tables {
		fmt.Fprintf(g.stdout, "  %-13s %8d rows (source %d)\n", t.Name, counts[t.Name], want[t.Name])
	}
	fmt.Fprintf(g.stdout, "every count matches. Use it with --store %s or PKID_STORE; the data directory %s still holds ca.pem, chain.pem and the admin files.\n",
		postgres.RedactURL(to), g.dir)
	return nil
}

// notCopied are SQLite columns PostgreSQL does without: dir_entries.ikeys
// lists an entry's index rows, which PostgreSQL finds by entry_id.
var notCopied = map[string]bool{"dir_entries.ikeys": true}

// checkMigratable refuses a SQLite store holding a table or column that
// postgres.Tables does not name (a store written by a newer pkid), rather
// than leave data behind.
func checkMigratable(ctx context.Context, rtx *sql.Tx, path string) error {
	known := map[string]map[string]bool{}
	for _, t := range postgres.Tables {
		known[t.Name] = map[string]bool{}
		for _, c := range t.Columns {
			known[t.Name][c] = true
		}
	}
	rows, err := rtx.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT IN ('sqlite_sequence', 'schema_migrations') ORDER BY m.name, p.cid`)
	if err != nil {
		return fmt.Errorf("read the tables of %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return fmt.Errorf("read the tables of %s: %w", path, err)
		}
		if known[table] == nil {
			return fmt.Errorf("%s has a table %s that this pkid cannot migrate to PostgreSQL yet; use the pkid release that wrote it", path, table)
		}
		if !known[table][column] && !notCopied[table+"."+column] {
			return fmt.Errorf("%s has a column %s.%s that this pkid cannot migrate to PostgreSQL yet; use the pkid release that wrote it", path, table, column)
		}
	}
	return rows.Err()
}

// copyTable streams one table from the SQLite snapshot into the loader,
// converting times and booleans, and returns the number of rows copied.
func copyTable(ctx context.Context, rtx *sql.Tx, l *postgres.Loader, t postgres.Table) (int64, error) {
	rows, err := rtx.QueryContext(ctx, `SELECT `+strings.Join(t.Columns, ", ")+` FROM `+t.Name)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", t.Name, err)
	}
	defer rows.Close()
	var n int64
	var batch [][]any
	for rows.Next() {
		vals := make([]any, len(t.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("read %s: %w", t.Name, err)
		}
		for i, c := range t.Columns {
			switch v := vals[i].(type) {
			case int64:
				if timeColumns[c] {
					vals[i] = time.UnixMicro(v).UTC()
				} else if boolColumns[c] {
					vals[i] = v != 0
				}
			case []byte:
				if c != "cert_der" && c != "key_pem" && c != "der" && c != "data" {
					vals[i] = string(v) // TEXT read back as bytes
				}
			}
		}
		batch = append(batch, vals)
		if len(batch) == migrateBatch {
			if err := l.Copy(t.Name, batch); err != nil {
				return n, err
			}
			n += int64(len(batch))
			batch = batch[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", t.Name, err)
	}
	if len(batch) > 0 {
		if err := l.Copy(t.Name, batch); err != nil {
			return n, err
		}
		n += int64(len(batch))
	}
	return n, nil
}
