package sqlite

import (
	"strings"
	"testing"
	"unsafe"
)

// TestFindMapping: only a readable shared mapping of offset 0 of the
// file's device and inode, long enough for the header, is taken.
func TestFindMapping(t *testing.T) {
	const start = 0x7f488a1d5000
	line := func(perms, off, dev, ino string, size uint64) string {
		return strings.Join([]string{
			"55d0c0a00000-55d0c0a21000 r--p 00000000 fe:00 10127001                   /usr/bin/pkid",
			// A longer range with the same inode, elsewhere in the file.
			"7f488a000000-7f488a008000 rw-s 00008000 " + dev + " " + ino + "   /d/pkid.db-shm",
			strings.Join([]string{hexAddr(start) + "-" + hexAddr(start+size), perms, off, dev, ino, "                  /d/pkid.db-shm"}, " "),
			"7ffd5c9f0000-7ffd5ca11000 rw-p 00000000 00:00 0                          [stack]",
		}, "\n")
	}
	ext4 := uint64(0xfe00) // major 0xfe, minor 0
	nvme := uint64(259<<8 | 1)
	tests := []struct {
		name string
		maps string
		dev  uint64
		ok   bool
	}{
		{"SQLite's mapping", line("rw-s", "00000000", "fe:00", "1234", 32768), ext4, true},
		{"read-only shared", line("r--s", "00000000", "fe:00", "1234", 32768), ext4, true},
		{"major above 255", line("rw-s", "00000000", "103:01", "1234", 32768), nvme, true},
		{"other inode", line("rw-s", "00000000", "fe:00", "12345", 32768), ext4, false},
		{"other device", line("rw-s", "00000000", "fe:01", "1234", 32768), ext4, false},
		{"private", line("rw-p", "00000000", "fe:00", "1234", 32768), ext4, false},
		{"not readable", line("-w-s", "00000000", "fe:00", "1234", 32768), ext4, false},
		{"not offset 0", line("rw-s", "00001000", "fe:00", "1234", 32768), ext4, false},
		{"shorter than the header", line("rw-s", "00000000", "fe:00", "1234", walIndexMin-1), ext4, false},
		{"garbage", "not a maps line\n\n-\n", ext4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := findMapping([]byte(tc.maps), tc.dev, 1234)
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

func hexAddr(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := range b {
		b[15-i] = digits[v>>(4*i)&0xf]
	}
	return strings.TrimLeft(string(b[:]), "0")
}
