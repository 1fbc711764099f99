// Package pgtest starts throw-away PostgreSQL clusters for tests: initdb in
// a temporary directory, the server on a free 127.0.0.1 port and a socket
// in that directory, as the postgres user when the tests run as root. No
// pre-existing PostgreSQL service is used or touched.
//
// The clusters are for tests only: they run with fsync=off and
// full_page_writes=off, so a machine crash could corrupt them, which is
// harmless for data that is deleted at the end of the run and makes
// initdb, CREATE DATABASE and every commit fast. Set PKID_PGTEST_FSYNC=1
// for durable commits (fsync=on), as benchmarks of durable throughput need.
//
// A package's tests share one cluster (Start); each test gets its own
// database. The package's TestMain must call Main, which stops the shared
// cluster when the tests end. The server also gets SIGQUIT if the test
// binary dies, so a crashed run leaves no server behind.
//
// It imports pgx (to wait for readiness and create databases) and
// internal/peer (to find the PostgreSQL programs), and only tests import it.
package pgtest
