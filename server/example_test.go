package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/pkid/pkid/server"
	"github.com/pkid/pkid/store/sqlite"
)

// Example runs what `pkid serve` runs: the first start in an empty data
// directory creates the CA, the administrator's certificate and the OCSP
// responder certificates, then serves OCSP, CRLs and CA certificates.
func Example() {
	dir, err := os.MkdirTemp("", "pkid-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "pkid.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	srv, err := server.New(server.Config{
		Dir:      dir,
		Store:    st,
		HTTPAddr: "127.0.0.1:0", // a free port; the CA's URLs use the real one
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()

	b := srv.Bootstrap()
	fmt.Println("created CA:", b.CreatedCA, "default CA:", b.DefaultCA.ID, "URL is the listener:", b.URL == srv.URL())

	resp, err := http.Get(srv.URL() + server.HealthPath)
	if err != nil {
		log.Fatal(err)
	}
	var h server.Health
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	fmt.Println("health:", h.Status, "CAs:", len(h.CAs))

	stop() // what SIGTERM does in pkid serve
	fmt.Println("stopped:", <-done)
	// Output:
	// created CA: true default CA: issuing URL is the listener: true
	// health: ok CAs: 2
	// stopped: <nil>
}
