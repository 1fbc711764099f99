//go:build !linux

package sqlite

// Revision always queries outside Linux (walindex_other.go).
const fastPath = false

func fastPathOn(*Store) bool { return false }

func forgetRevision(*Store) {}
