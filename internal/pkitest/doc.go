// Package pkitest holds test fixtures shared by pkid's packages: a fresh CA
// in a temporary data directory (laid out as `pkid init` leaves it), with
// its store, issuance service and the files a peer program needs, and a
// helper that writes issued certificates as `pkid issue --out` does.
//
// Test code only: import it from _test.go files. It may import ca, store
// and store/sqlite; nothing but tests may import it.
package pkitest
