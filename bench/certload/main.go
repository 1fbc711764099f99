// Command certload measures certificate logins against an LDAP server, for
// bench/certlogin-compare.sh: each operation is TCP connect + TLS handshake
// (LDAPS, or StartTLS with -starttls) with a client certificate + SASL
// EXTERNAL bind + unbind, like the shared ldapload's "-op connect -bind
// external", plus what ldapload cannot do: -resume keeps one TLS session
// cache per connection slot, so every login after the first resumes the
// TLS session with a ticket (RFC 8446 §2.2, RFC 5077). It prints one JSON
// line in the shared load generators' format (ops_per_sec, p50_ms, ...,
// extra.resumed_handshakes) so the shared peers/lib.sh measure() can run
// it. It is a benchmark fixture, not part of pkid's command line.
//
//	certload -url ldaps://127.0.0.1:17736 -cacert ca.pem -cert client.pem -key client.key [-resume] [-starttls] [-curves x25519]
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkid/pkid/ldap"
)

type result struct {
	Tool       string         `json:"tool"`
	OpsPerSec  float64        `json:"ops_per_sec"`
	P50ms      float64        `json:"p50_ms"`
	P90ms      float64        `json:"p90_ms"`
	P99ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
	Ops        int            `json:"ops"`
	Errors     int            `json:"errors"`
	FirstError string         `json:"first_error,omitempty"`
	ClientCPU  float64        `json:"client_cpu_pct"`
	Extra      map[string]any `json:"extra,omitempty"`
	Settings   map[string]any `json:"settings"`
}

func main() {
	url := flag.String("url", "ldaps://127.0.0.1:1636", "ldaps://host:port, or ldap://host:port with -starttls")
	startTLS := flag.Bool("starttls", false, "issue StartTLS after connecting (ldap:// only)")
	cacert := flag.String("cacert", "", "CA bundle (PEM) to verify the server")
	cert := flag.String("cert", "", "client certificate (PEM)")
	key := flag.String("key", "", "client key (PEM)")
	resume := flag.Bool("resume", false, "resume TLS sessions with tickets (one session cache per connection slot)")
	conns := flag.Int("conns", 8, "concurrent workers")
	duration := flag.Duration("duration", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up before measuring (not recorded)")
	timeout := flag.Duration("timeout", 5*time.Second, "per-operation timeout")
	curves := flag.String("curves", "", "comma list of x25519,p256,x25519mlkem768 to offer (default: Go's, which puts the hybrid post-quantum x25519mlkem768 first)")
	flag.Parse()

	base := &tls.Config{}
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		if err != nil {
			fatal("read -cacert: %v", err)
		}
		base.RootCAs = x509.NewCertPool()
		if !base.RootCAs.AppendCertsFromPEM(pem) {
			fatal("no certificates in %s", *cacert)
		}
	}
	kp, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		fatal("client certificate: %v", err)
	}
	base.Certificates = []tls.Certificate{kp}
	for _, name := range strings.Split(*curves, ",") {
		id, ok := map[string]tls.CurveID{"x25519": tls.X25519, "p256": tls.CurveP256, "x25519mlkem768": tls.X25519MLKEM768}[name]
		if name != "" && !ok {
			fatal("bad curve %q", name)
		}
		if ok {
			base.CurvePreferences = append(base.CurvePreferences, id)
		}
	}

	start := time.Now()
	from := start.Add(*warmup)
	end := from.Add(*duration)
	var resumed, full atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	errs, first := 0, ""
	var wg sync.WaitGroup
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := base.Clone()
			didResume := false
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				didResume = cs.DidResume
				return nil
			}
			if *resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			}
			var mine []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				didResume = false
				err := login(*url, cfg, *startTLS, *timeout)
				t1 := time.Now()
				if t1.Before(from) || !t1.Before(end) {
					continue
				}
				if err != nil {
					mu.Lock()
					if errs++; first == "" {
						first = err.Error()
					}
					mu.Unlock()
					continue
				}
				if didResume {
					resumed.Add(1)
				} else {
					full.Add(1)
				}
				mine = append(mine, t1.Sub(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(time.Until(from))
	cpu0 := cpuTime()
	time.Sleep(time.Until(end))
	cpu1 := cpuTime()
	wg.Wait()
	slices.Sort(lat)
	r := result{Tool: "certload", Ops: len(lat), Errors: errs, FirstError: first,
		OpsPerSec: round(float64(len(lat)) / duration.Seconds()),
		P50ms:     pct(lat, 50), P90ms: pct(lat, 90), P99ms: pct(lat, 99),
		ClientCPU: round(100 * (cpu1 - cpu0).Seconds() / duration.Seconds()),
		Extra:     map[string]any{"resumed_handshakes": resumed.Load(), "full_handshakes": full.Load()},
		Settings: map[string]any{"url": *url, "starttls": *startTLS, "resume": *resume, "curves": *curves, "conns": *conns,
			"duration": duration.String(), "warmup": warmup.String(), "op": "connect", "bind": "external"}}
	if len(lat) > 0 {
		r.MaxMs = ms(lat[len(lat)-1])
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

// login is one operation: connect, TLS, EXTERNAL bind, unbind (Close).
// VerifyConnection in cfg records whether the handshake resumed. The bind
// response is read after the TLS 1.3 NewSessionTicket messages, so the
// session cache holds a ticket for the next login.
func login(url string, cfg *tls.Config, startTLS bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := ldap.Dial(ctx, url, &ldap.ClientConfig{TLSConfig: cfg, StartTLS: startTLS, Timeout: timeout})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.BindExternal(ctx, ""); err != nil {
		return fmt.Errorf("EXTERNAL bind: %w", err)
	}
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return ms(sorted[max((len(sorted)*p+99)/100-1, 0)])
}

func ms(d time.Duration) float64 { return round(float64(d) / 1e6) }

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "certload: "+format+"\n", a...)
	os.Exit(2)
}
