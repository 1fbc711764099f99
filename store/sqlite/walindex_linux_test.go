package sqlite

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestFindMapping: only a readable shared mapping of offset 0 of the
// file, long enough for the header, is taken: the one with its device and
// inode, else (the kernel prints other device numbers on some file
// systems) the only one with its path and inode, else with its path.
func TestFindMapping(t *testing.T) {
	const start, path = 0x7f488a1d5000, "/d/pkid.db-shm"
	line := func(perms, off, dev, ino, path string, size uint64) string {
		return strings.Join([]string{hexAddr(start) + "-" + hexAddr(start+size), perms, off, dev, ino, "                  " + path}, " ")
	}
	maps := func(lines ...string) string {
		return strings.Join(append([]string{
			"55d0c0a00000-55d0c0a21000 r--p 00000000 fe:00 10127001                   /usr/bin/pkid",
			// A longer range with the same inode, elsewhere in the file.
			"7f488a000000-7f488a008000 rw-s 00008000 fe:00 1234   " + path,
		}, append(lines, "7ffd5c9f0000-7ffd5ca11000 rw-p 00000000 00:00 0                          [stack]")...), "\n")
	}
	sqlite := func(perms, off, dev, ino string, size uint64) string {
		return maps(line(perms, off, dev, ino, path, size))
	}
	// Another candidate, at another address.
	other := func(dev, ino, path string) string {
		return "7f0000000000-7f0000008000 rw-s 00000000 " + dev + " " + ino + "   " + path
	}
	ext4 := uint64(0xfe00) // major 0xfe, minor 0
	nvme := uint64(259<<8 | 1)
	tests := []struct {
		name string
		maps string
		path string
		dev  uint64
		ok   bool
	}{
		{"SQLite's mapping", sqlite("rw-s", "00000000", "fe:00", "1234", 32768), path, ext4, true},
		{"read-only shared", sqlite("r--s", "00000000", "fe:00", "1234", 32768), path, ext4, true},
		{"major above 255", sqlite("rw-s", "00000000", "103:01", "1234", 32768), path, nvme, true},
		{"other device, same path and inode (btrfs)", sqlite("rw-s", "00000000", "00:2f", "1234", 32768), path, ext4, true},
		{"other device and inode, same path (overlayfs)", sqlite("rw-s", "00000000", "00:2f", "98765", 32768), path, ext4, true},
		{"inode digits in the address, other device and inode", maps(line("rw-s", "00000000", "00:2f", "1d5", path, 32768)), path, ext4, true},
		{"path with spaces", maps(line("rw-s", "00000000", "00:2f", "98765", "/my data/pkid.db-shm", 32768)), "/my data/pkid.db-shm", ext4, true},
		{"device and inode win over another path match", maps(line("rw-s", "00000000", "fe:00", "1234", path, 32768), other("00:2f", "5", path)), path, ext4, true},
		{"other inode and path", sqlite("rw-s", "00000000", "fe:00", "12345", 32768), "/e/pkid.db-shm", ext4, false},
		{"same inode, other device and path", sqlite("rw-s", "00000000", "fe:01", "1234", 32768), "/e/pkid.db-shm", ext4, false},
		{"two path matches", maps(line("rw-s", "00000000", "00:2f", "98765", path, 32768), other("00:30", "4321", path)), path, ext4, false},
		{"private", sqlite("rw-p", "00000000", "fe:00", "1234", 32768), path, ext4, false},
		{"not readable", sqlite("-w-s", "00000000", "fe:00", "1234", 32768), path, ext4, false},
		{"not offset 0", sqlite("rw-s", "00001000", "fe:00", "1234", 32768), path, ext4, false},
		{"shorter than the header", sqlite("rw-s", "00000000", "fe:00", "1234", walIndexMin-1), path, ext4, false},
		{"garbage", "not a maps line\n\n-\n", path, ext4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := findMapping([]byte(tc.maps), tc.path, tc.dev, 1234)
			if !tc.ok {
				if err == nil {
					t.Fatalf("findMapping found %p, want none", unsafe.SliceData(mem))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := uintptr(unsafe.Pointer(unsafe.SliceData(mem))); got != start || len(mem) != walIndexMin {
				t.Fatalf("findMapping = %#x (%d bytes), want %#x (%d)", got, len(mem), start, walIndexMin)
			}
		})
	}
}

func hexAddr(v uint64) string { return strconv.FormatUint(v, 16) }

// TestFindMappingByPath: in this process's real /proc/self/maps, the path
// sqliteMapping asks for is the one the kernel prints, so the -shm is
// found by path and inode when the device numbers do not agree, and by
// path alone when the inodes do not either.
func TestFindMappingByPath(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	dirPut(t, st, "o=x")
	if _, err := st.Revision(t.Context()); err != nil || !fastPathOn(st) {
		t.Fatalf("Revision: %v, fast path %v; want it on", err, fastPathOn(st))
	}
	st.wal.mu.RLock()
	want := unsafe.SliceData(st.wal.mem)
	st.wal.mu.RUnlock()
	shm := st.Path() + "-shm"
	fi, err := os.Stat(shm)
	if err != nil {
		t.Fatal(err)
	}
	dev, ino := uint64(fi.Sys().(*syscall.Stat_t).Dev), uint64(fi.Sys().(*syscall.Stat_t).Ino)
	for _, c := range []struct {
		name     string
		dev, ino uint64
	}{{"device and inode", dev, ino}, {"path and inode", dev ^ 0xff, ino}, {"path", dev ^ 0xff, ino + 1}} {
		mem, err := sqliteMapping(shm, c.dev, c.ino)
		if err != nil {
			t.Fatalf("by %s: %v", c.name, err)
		}
		if got := unsafe.SliceData(mem); got != want {
			t.Fatalf("by %s: found %p, SQLite's mapping is %p", c.name, got, want)
		}
	}
}
