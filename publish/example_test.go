package publish_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/pkid/pkid/publish"
	"github.com/pkid/pkid/store"
)

// This is how `pkid serve` runs the publisher: targets from the "publish"
// array of its configuration file, one goroutine per target, stopped with
// the server's context; the collector goes into the server's registry.
func Example() {
	var st store.Store // the server's store
	targets := []publish.Target{{
		Name:       "corp-ldap",
		URL:        "ldaps://ldap.example.org:636",
		Bind:       publish.BindExternal, // the client certificate's DN is mapped by the directory (olcAuthzRegexp)
		CertFile:   "/var/lib/pkid/publisher.chain.pem",
		KeyFile:    "/var/lib/pkid/publisher.key.pem",
		CACertFile: "/etc/ssl/corp-ldap-ca.pem",
		CAs:        []string{"issuing"},
	}}
	p, err := publish.New(st, targets, publish.Options{Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = p.Collector() // registry.MustRegister(p.Collector())
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the server cancels on shutdown
	if st != nil {
		go p.Run(ctx)
	}
	for _, s := range p.Status() {
		fmt.Println(s.Name, s.URL, s.LastError == "")
	}
	// Output: corp-ldap ldaps://ldap.example.org:636 true
}
