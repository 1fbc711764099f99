package postgres

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/pgtest"
	"github.com/pkid/pkid/store"
)

// BenchmarkDirImport writes 10,000 entries with six index rows each in one
// DirUpdate, as an LDIF import does; it reports this process's CPU per
// import beside the wall time (the server's CPU is not counted).
func BenchmarkDirImport(b *testing.B) {
	st := newBenchStore(b, pgtest.Start(b))
	const n = 10000
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		c0 := processCPU()
		_, err := st.DirUpdate(b.Context(), func(tx store.DirTx) error {
			root := &store.DirEntry{DN: fmt.Sprintf("o=b%d", i), NormDN: fmt.Sprintf("o=b%d", i), Data: []byte("o")}
			if err := tx.Put(root); err != nil {
				return err
			}
			for j := range n {
				dn := fmt.Sprintf("uid=user%d,%s", j, root.DN)
				e := &store.DirEntry{ParentID: root.ID, DN: dn, NormDN: dn, Data: make([]byte, 300), Index: []store.DirIndexKey{
					{Attr: "objectclass", Value: "2.16.840.1.113730.3.2.2"}, {Attr: "objectclass", Value: "2.5.6.7"}, {Attr: "objectclass", Value: "2.5.6.6"},
					{Attr: "uid", Value: fmt.Sprintf("user%d", j)}, {Attr: "cn", Value: fmt.Sprintf("user %d", j)}, {Attr: "mail", Value: fmt.Sprintf("user%d@bench.example", j)},
				}}
				if err := tx.Put(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - c0
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "client-cpu-s/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
