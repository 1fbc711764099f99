// Package postgres is pkid's scale-out store: a store.Store in a PostgreSQL
// database that several `pkid serve` nodes and CLI processes share, written
// with github.com/jackc/pgx/v5 (pgxpool). Open takes a postgres:// URL (or
// PKID_STORE when given none).
//
// It keeps the semantics of store/sqlite and passes the same conformance
// suite (store/storetest). What differs is how they are reached:
//
//   - Change feed. Revisions come from a one-row counter table (feed) that
//     every feed-writing transaction locks first and updates in the same
//     transaction, so feed writes are serialised across all nodes and
//     commit in revision order: a reader that sees revision r sees every
//     lower one. A sequence alone would not do, because a transaction that
//     drew a later number can commit before one that drew an earlier one and
//     a watcher would skip the earlier change forever. The price is that
//     issuance and revocation commit one transaction at a time across the
//     whole cluster; AddCertificates therefore does its work in a single
//     statement (one round trip, the lock held only for that statement and
//     its commit), and issuers reach high rates by batching.
//   - Notification. Each feed-writing transaction runs
//     NOTIFY pkid_changes, '<revision>'; Store implements store.Notifier
//     from one LISTEN connection per Store, so store.Watch wakes at once and
//     polls only slowly as the fallback for a notification lost with a
//     dropped connection.
//   - Directory. DirUpdate takes the feed lock only at its end, so a long
//     LDIF import does not stall issuance on every node while it runs.
//   - Migration. Load fills an empty database from another store in one
//     transaction, preserving revisions (`pkid migrate --to`).
//   - Locks. Store implements store.Locker with session-level advisory
//     locks (pg_try_advisory_lock) on a dedicated connection, so exactly one
//     node signs each CRL. CRL numbers come from a counter row updated with
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
