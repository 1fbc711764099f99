// Package sqlite is pkid's embedded store: a store.Store kept in one SQLite
// database file (DIR/pkid.db), written with the pure-Go modernc.org/sqlite
// driver so pkid stays one static binary.
//
// Several processes may use the same file at once (the CLI while `pkid
// serve` runs): the database runs in WAL mode, writing transactions start
// with BEGIN IMMEDIATE so writers queue on busy_timeout instead of failing,
// and synchronous=FULL makes every commit durable before a method returns.
// Servers in other processes notice changes by polling Store.Revision (one
// indexed MAX query), usually through store.Watch. Revision answers from
// memory while the WAL-index header in the -shm file (SQLite's documented
// WAL file format, https://www.sqlite.org/walformat.html) shows that no
// transaction has committed since its last query (walindex.go).
//
// Times are stored as Unix microseconds in UTC (the precision PostgreSQL
// keeps too), so a time read back equals the one written truncated to the
// microsecond.
//
// The schema is versioned (table schema_migrations); Open applies missing
// migrations, each in its own transaction, and refuses a database written by
// a newer pkid. This package imports only store and the driver.
package sqlite
