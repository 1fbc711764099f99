//go:build unix && !linux

package sqlite

import "errors"

// sqliteMapping would find SQLite's mapping of the -shm; only Linux lists
// a process's mappings (/proc/self/maps), so elsewhere Revision queries.
func sqliteMapping(dev, ino uint64) ([]byte, error) {
	return nil, errors.New("finding SQLite's mapping needs Linux's /proc/self/maps")
}
