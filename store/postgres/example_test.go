package postgres_test

import (
	"context"
	"log"

	"github.com/pkid/pkid/store"
	"github.com/pkid/pkid/store/postgres"
)

// Several nodes open the same database; each watches the change feed
// (woken by LISTEN/NOTIFY, with a slow poll as the fallback) and the one
// that wins the advisory lock signs the next CRL. It has no Output line:
// it needs a PostgreSQL server.
func Example() {
	ctx := context.Background()
	st, err := postgres.Open(ctx, "postgres://pkid@127.0.0.1:5432/pkid") // or "" for $PKID_STORE
	if err != nil {
		log.Fatal(err) // names the URL, never its password
	}
	defer st.Close()

	go func() {
		for changes := range store.Watch(ctx, st, 0, 0) {
			for _, c := range changes {
				log.Printf("revision %d: %s %s", c.Revision, c.Kind, c.Serial)
			}
		}
	}()

	unlock, ok, err := store.TryLock(ctx, st, "crl/issuing")
	if err != nil {
		log.Fatal(err)
	}
	if ok { // this node signs; the others skip this round
		defer unlock()
		n, _ := st.NextCRLNumber(ctx, "issuing")
		log.Printf("signing CRL number %d", n)
	}
}
