// Command ldapsweep searches (uid=user<i>) for every i in [0,n) once, over
// several connections, and checks each search finds one entry: after it,
// a server has read (and, if it caches, cached) every user of the bench
// directory. bench/ldap-compare.sh runs it before reading each server's
// resident memory. A fixture, not part of the pkid command line.
//
//	ldapsweep -url ldap://127.0.0.1:14389 -base o=bench -n 100000 -conns 8
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/ldap"
)

func main() {
	url := flag.String("url", "ldap://127.0.0.1:389", "ldap:// URL of the server")
	base := flag.String("base", "o=bench", "search base")
	n := flag.Int("n", 10000, "users user0 .. user<n-1>")
	conns := flag.Int("conns", 8, "connections")
	flag.Parse()
	ctx := context.Background()
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, *conns)
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ldap.Dial(ctx, *url, &ldap.ClientConfig{Timeout: time.Minute})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				es, err := c.Search(ctx, &ldap.SearchRequest{BaseObject: *base, Scope: ldap.ScopeWholeSubtree,
					Filter: ldap.Filter{Type: ldap.FilterEqualityMatch, Attr: "uid", Value: fmt.Appendf(nil, "user%d", i)}})
				if err != nil {
					errs <- fmt.Errorf("search user%d: %w", i, err)
					return
				}
				if len(es) != 1 {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, "ldapsweep:", err)
		os.Exit(1)
	}
	if bad.Load() > 0 {
		fmt.Fprintf(os.Stderr, "ldapsweep: %d searches did not find exactly one entry\n", bad.Load())
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ldapsweep: %d users searched in %s\n", *n, time.Since(start).Round(time.Millisecond))
}
