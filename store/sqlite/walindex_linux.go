package sqlite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sqliteMapping finds SQLite's shared mapping of offset 0 of the file at
// path, with device dev and inode ino, in /proc/self/maps and returns its
// first walIndexMin bytes.
func sqliteMapping(path string, dev, ino uint64) ([]byte, error) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p // the kernel prints the path it resolved
	}
	if p, err := filepath.Abs(path); err == nil {
		path = p
	}
	return findMapping(maps, path, dev, ino)
}

// findMapping is sqliteMapping on the text of /proc/self/maps. Lines read
// "start-end perms offset major:minor inode path", numbers in hex but the
// inode. The mapping is the one with the file's device and inode; where
// the kernel prints another device than stat(2) reports (btrfs
// subvolumes, overlayfs before Linux 6.8), the one mapping with the
// file's path and inode, or else with its path alone. Two candidates and
// it takes neither.
func findMapping(maps []byte, path string, dev, ino uint64) ([]byte, error) {
	wantDev := fmt.Sprintf("%02x:%02x", unix.Major(dev), unix.Minor(dev))
	wantIno := strconv.FormatUint(ino, 10)
	var byDev, byIno, byPath []uint64 // start addresses of the candidates
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		f := bytes.Fields(line)
		if len(f) < 6 {
			continue // no file behind it
		}
		samePath := string(mapsPath(line)) == path
		sameIno := string(f[4]) == wantIno
		if !samePath && !sameIno {
			continue
		}
		perms, off := f[1], f[2]
		if len(perms) != 4 || perms[0] != 'r' || perms[3] != 's' {
			continue // not a readable shared mapping
		}
		if o, err := strconv.ParseUint(string(off), 16, 64); err != nil || o != 0 {
			continue // not the region holding the header
		}
		lo, hi, ok := bytes.Cut(f[0], []byte{'-'})
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end < start+walIndexMin || start%8 != 0 {
			continue
		}
		switch {
		case sameIno && string(f[3]) == wantDev:
			byDev = append(byDev, start)
		case sameIno && samePath:
			byIno = append(byIno, start)
		case samePath:
			byPath = append(byPath, start)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, c := range [][]uint64{byDev, byIno, byPath} {
		switch len(c) {
		case 0:
			continue
		case 1:
			return unsafe.Slice((*byte)(addr(uintptr(c[0]))), walIndexMin), nil
		}
		return nil, fmt.Errorf("%d shared mappings could be it", len(c))
	}
	return nil, errors.New("no shared mapping of it in this process")
}

// mapsPath is the path of a /proc/self/maps line: the rest of the line
// after its first five fields (a path may hold spaces).
func mapsPath(line []byte) []byte {
	for range 5 {
		line = bytes.TrimLeft(line, " ")
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return nil
		}
		line = line[i:]
	}
	return bytes.TrimLeft(line, " ")
}

// addr converts an address of memory the Go heap does not own (SQLite's
// mapping) to a pointer.
func addr(a uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a))
}
