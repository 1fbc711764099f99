// Command ocspserver serves an `openssl ca` database (index.txt) with
// pkid's ocsp package, for bench/ocsp-compare.sh: the same CA, responder
// certificate and leaves as `openssl ocsp -index`, so the two responders
// can be measured with the same load generator. It is a benchmark fixture,
// not part of pkid's command line (`pkid serve` wires the responder to the
// store).
//
//	ocspserver -addr 127.0.0.1:18082 -index ca/index.txt -CA ca/ca.pem -rsigner ocsp.pem -rkey ocsp.key [-prefix /] [-prepare] [-lean=false]
package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/pkid/pkid/ocsp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address")
	index := flag.String("index", "", "openssl ca index.txt")
	caFile := flag.String("CA", "", "issuing CA certificate (PEM)")
	rsigner := flag.String("rsigner", "", "delegated responder certificate (PEM)")
	rkey := flag.String("rkey", "", "responder private key (PEM, PKCS#8 or SEC 1)")
	prefix := flag.String("prefix", "/", "HTTP mount point")
	prepare := flag.Bool("prepare", true, "pre-sign every certificate of the index at start")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the serving time to this file")
	lean := flag.Bool("lean", true, "serve with ocsp.LeanServer (false: net/http alone, as ocsp.NewServer)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ocspserver:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*addr, *index, *caFile, *rsigner, *rkey, *prefix, *prepare, *lean); err != nil {
		fmt.Fprintln(os.Stderr, "ocspserver:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(addr, index, caFile, rsigner, rkey, prefix string, prepare, lean bool) error {
	ca, err := readCert(caFile)
	if err != nil {
		return err
	}
	resp, err := readCert(rsigner)
	if err != nil {
		return err
	}
	key, err := readKey(rkey)
	if err != nil {
		return err
	}
	db, err := readIndex(index)
	if err != nil {
		return err
	}
	lookup := func(ctx context.Context, iss *ocsp.Issuer, serial *big.Int) (ocsp.Status, error) {
		if st, ok := db[serial.Text(16)]; ok {
			return st, nil
		}
		return ocsp.Status{Serial: serial, Status: ocsp.Unknown}, nil
	}
	r, err := ocsp.New(ocsp.Config{
		Issuers: []*ocsp.Issuer{{ID: "ca", Cert: ca, ResponderCert: resp, Signer: key}},
		Lookup:  lookup,
		Prefix:  prefix,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if prepare {
		t0 := time.Now()
		load := func(context.Context) ([]ocsp.Status, error) {
			var sts []ocsp.Status
			for _, st := range db {
				sts = append(sts, st)
			}
			return sts, nil
		}
		if err := r.Prepare(ctx, "ca", load); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "ocspserver: pre-signed %d responses in %v\n", r.Cached(), time.Since(t0).Round(time.Millisecond))
	}
	go r.Run(ctx)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	type server interface {
		Serve(net.Listener) error
		Shutdown(context.Context) error
	}
	var srv server = ocsp.NewServer(r)
	if lean {
		srv = ocsp.NewLeanServer(r, ocsp.NewServer(r))
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "ocspserver: serving %d certificates on http://%s%s (lean %v)\n", len(db), addr, prefix, lean)
	if err := srv.Serve(ln); !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	var k any
	switch blk.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	return s, nil
}

// readIndex reads an openssl ca index.txt: status, expiry, revocation
// "time[,reason]", serial (hex), file, subject, tab-separated.
func readIndex(path string) (map[string]ocsp.Status, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reasons := map[string]int{"unspecified": 0, "keyCompromise": 1, "CACompromise": 2, "affiliationChanged": 3,
		"superseded": 4, "cessationOfOperation": 5, "certificateHold": 6, "removeFromCRL": 8}
	db := map[string]ocsp.Status{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 4 {
			return nil, fmt.Errorf("%s:%d: want at least 4 tab-separated fields", path, n)
		}
		serial, ok := new(big.Int).SetString(fields[3], 16)
		if !ok {
			return nil, fmt.Errorf("%s:%d: bad serial %q", path, n, fields[3])
		}
		st := ocsp.Status{Serial: serial, Status: ocsp.Good}
		if fields[0] == "R" {
			when, reason, _ := strings.Cut(fields[2], ",")
			t, err := time.Parse("060102150405Z", when)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: bad revocation time: %w", path, n, err)
			}
			st.Status, st.RevokedAt, st.Reason = ocsp.Revoked, t, reasons[reason]
		}
		db[serial.Text(16)] = st
	}
	return db, sc.Err()
}
