package ca_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store/sqlite"
)

// A Go program can run its own CA: create it once with Init, then issue
// through a Service.
func ExampleService_Issue() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pkid-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "pkid.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	if _, err := ca.Init(ctx, st, ca.InitOptions{Name: "CN=Example Issuing CA,O=Example"}); err != nil {
		panic(err)
	}
	svc := ca.New(st, ca.Options{})
	defer svc.Close()
	iss, err := svc.Issue(ctx, ca.Request{Profile: "server", Subject: "CN=www.example.org", SANs: "DNS:www.example.org,IP:192.0.2.1"})
	if err != nil {
		panic(err)
	}
	fmt.Println(iss.Certificate.Subject, iss.Certificate.DNSNames, iss.Certificate.IPAddresses)
	fmt.Println("issued by", iss.CAID, "under", iss.Chain[1].Subject)
	// Output:
	// CN=www.example.org [www.example.org] [192.0.2.1]
	// issued by issuing under CN=Example Root CA,O=Example
}
