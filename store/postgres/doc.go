// Package postgres is pkid's scale-out store: a store.Store in a PostgreSQL
// database that several `pkid serve` nodes and CLI processes share, written
// with github.com/jackc/pgx/v5 (pgxpool). Open takes a postgres:// URL (or
// PKID_STORE when given none).
//
// It keeps the semantics of store/sqlite and passes the same conformance
// suite (store/storetest). What differs is how they are reached:
//
//   - Change feed. Revisions come from a sequence (feed_revision), drawn
//     and inserted in one statement with each change, so feed writers on
//     every node run and commit concurrently and PostgreSQL flushes their
//     commits together (group commit; synchronous_commit stays on). A
//     transaction that drew a later revision may commit before one that
//     drew an earlier one, so readers report a revision only once every
//     smaller one is resolved: committed, or declared a gap by a reader
//     with a tombstone row that the unique index makes final (a writer
//     that drew it draws again). A reader never skips a change: see the
//     proof at the top of feed.go. The feed_watermark row holds a
//     watermark (every revision up to it resolved) that new Store handles
//     start from.
//   - Notification. Each feed-writing transaction runs
//     NOTIFY pkid_changes, '<revision>'; Store implements store.Notifier
//     from one LISTEN connection per Store, so store.Watch wakes at once and
//     polls only slowly as the fallback for a notification lost with a
//     dropped connection.
//   - Directory. DirUpdate draws its revision at its end, so readers never
//     wait long on a long LDIF import.
//   - Concurrency without the feed. Concurrent revocations of one
//     certificate take turns on its row (FOR NO KEY UPDATE), CRL writers of
//     a CA on the CA's row, CA writers on an advisory transaction lock.
//   - Migration. Load fills an empty database from another store in one
//     transaction, preserving revisions (`pkid migrate --to`).
//   - Locks. Store implements store.Locker with session-level advisory
//     locks (pg_try_advisory_lock) on a pooled connection kept checked out
//     until unlock, so exactly one node signs each CRL. CRL numbers come from a counter row updated with
//     INSERT ... ON CONFLICT DO UPDATE: strictly increasing, never reused,
//     with or without the lock.
//
// The schema is versioned (table schema_migrations); Open applies missing
// migrations, each in its own transaction under pg_advisory_xact_lock so
// nodes starting together apply each exactly once, and refuses a database
// written by a newer pkid. Times are timestamptz (microseconds), like the
// SQLite store's Unix microseconds. Text columns are UTF-8 and cannot hold
// NUL bytes (Meta values included).
//
// This package imports only store and pgx.
package postgres
