package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/sqlite"
)

// A server keeps its caches fresh by watching the change feed; here the
// revocation comes from another handle on the same file, as it would from
// `pkid revoke` in another process.
func ExampleWatch() {
	dir, _ := os.MkdirTemp("", "pkid-example-")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	server, _ := sqlite.Open(ctx, filepath.Join(dir, "pkid.db"))
	defer server.Close()
	cli, _ := sqlite.Open(ctx, filepath.Join(dir, "pkid.db"))
	defer cli.Close()

	cli.CreateCA(ctx, &store.CA{ID: "issuing", Role: store.RoleIssuing, CertDER: []byte("...")})
	cli.AddCertificates(ctx, []*store.Certificate{{Serial: "1A2B", CAID: "issuing"}})

	from, _ := server.Revision(ctx)
	changes := store.Watch(ctx, server, from, 0)

	cli.Revoke(ctx, "1A2B", store.Revocation{Reason: 1})
	select {
	case batch := <-changes:
		for _, c := range batch {
			fmt.Println(c.Kind, c.CAID, c.Serial)
		}
	case <-time.After(time.Second):
		fmt.Println("no change within a second")
	}
	// Output: revoke issuing 1A2B
}
