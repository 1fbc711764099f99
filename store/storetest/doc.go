// Package storetest is the conformance suite for store.Store: every
// implementation (store/sqlite, later store/postgres) runs it from its own
// tests with storetest.Run, so they all behave the same for the services
// above them. It checks the contract documented on store.Store: errors,
// all-or-none batches, the hold/release rules of RFC 5280 §5.3.1
// (certificateHold), CRL numbering (§5.2.3) and the change feed.
//
// It imports only store and the standard library, so a new implementation
// can run it before anything else exists.
package storetest
