package sqlite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"unsafe"
)

// sqliteMapping finds SQLite's shared mapping of offset 0 of the file with
// device dev and inode ino in /proc/self/maps and returns its first
// walIndexMin bytes.
func sqliteMapping(dev, ino uint64) ([]byte, error) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	return findMapping(maps, dev, ino)
}

// findMapping is sqliteMapping on the text of /proc/self/maps. Lines read
// "start-end perms offset major:minor inode path", numbers in hex but the
// inode.
func findMapping(maps []byte, dev, ino uint64) ([]byte, error) {
	// The kernel prints major:minor as glibc's major() and minor() decode
	// st_dev.
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	wantDev := fmt.Sprintf("%02x:%02x", major, minor)
	wantIno := strconv.FormatUint(ino, 10)
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 || string(f[3]) != wantDev || string(f[4]) != wantIno {
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
		return unsafe.Slice((*byte)(addr(uintptr(start))), walIndexMin), nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("no shared mapping of it in this process")
}

// addr converts an address of memory the Go heap does not own (SQLite's
// mapping) to a pointer.
func addr(a uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a))
}
