package postgres

import (
	"net"
	"strconv"
	"testing"
)

func helperMain() bool { return false }

func pgtestFreePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
