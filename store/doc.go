// Package store defines pkid's persistence interface: the single source of
// truth for certificate authorities, issued certificates, revocations, CRLs
// and the change feed that servers use to notice changes made by other
// processes.
//
// Servers learn about changes made by any process through the change feed:
// Watch polls Store.Revision (one cheap indexed lookup) every 100 ms and
// delivers new Changes, so a revocation reaches every cache within a second.
// A store shared by several nodes may also be a Notifier (it pushes a
// wake-up per commit; Watch then polls only as a fallback) and a Locker
// (named locks across nodes, so exactly one node signs each CRL; TryLock
// falls back to a no-op for a store that is not one).
//
// Implementations live in sub-packages (store/sqlite, the embedded default;
// store/postgres, shared by several nodes). Every implementation must pass
// the conformance suite in store/storetest. This package must not import ca, ocsp, ldap or any
// other service package: data flows commands → services → store.
package store
