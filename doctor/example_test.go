package doctor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pkid/pkid/doctor"
)

// ExampleExplainError explains an error a crypto/tls client returned.
func ExampleExplainError() {
	err := errors.New("remote error: tls: unknown certificate authority")
	for _, e := range doctor.ExplainError(err) {
		fmt.Println(e.ID)
		fmt.Println(e.Observed)
	}
	// Output:
	// alert
	// the server sent alert 48 unknown_ca during the handshake
}

// ExampleProbe probes a server and prints each problem with its cause and
// fix.
func ExampleProbe() {
	r, err := doctor.Probe(context.Background(), doctor.Options{Addr: "127.0.0.1:1", Timeout: 2 * time.Second})
	if r == nil {
		fmt.Println("bad options:", err)
		return
	}
	for _, p := range r.Problems {
		fmt.Println(p.ID)
	}
	// Output:
	// connection_refused
}
