package store

// WriteCounter is implemented by stores that count the writes committed
// through one handle. A reader that caches what the store said (the
// certificate login's revocation cache, directory/certmap) compares the
// count before trusting its cache, so a change made through the same
// handle (a revocation by this process) applies to the very next read
// without a query; changes by other handles are seen through Revision.
type WriteCounter interface {
	// Writes returns a number that has grown by the time any write
	// through this handle returns (it also grows after a write that
	// failed, which may have committed). It never decreases.
	Writes() uint64
}
