package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/directory/certmap"
	"github.com/pkid/pkid/internal/heapfloor"
	"github.com/pkid/pkid/publish"
	"github.com/pkid/pkid/server"
)

func init() {
	register(&command{
		name:    "serve",
		args:    "[--config FILE] [--http ADDR] [--ldap ADDR] [--ldaps ADDR] [--listen-any] [--store URL]",
		summary: "serve the LDAP directory (LDAP, StartTLS, LDAPS) and OCSP, CRLs and CA certificates over HTTP; the first run creates the data directory",
		example: `pkid serve                                  # creates ./pkid-data on first run, serves http://127.0.0.1:8080
pkid serve --http 127.0.0.1:9080 --ldap 127.0.0.1:3389 --ldaps "" --dir /var/lib/pkid   # "" turns a listener off
pkid serve --config pkid.json               # {"http": "0.0.0.0:8080", "allow_remote": true, "url": "http://pki.example.org:8080"}
GOMEMLIMIT=512MiB pkid serve                # raise the soft memory limit (default: directory cache budget + 48 MiB = 128 MiB)
GOGC=100 pkid serve                         # the Go default: no 16 MiB heap floor (collects more often while the heap is small)`,
		flags: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			configFile := fs.String("config", "", "JSON configuration file (keys: "+server.FileKeys()+"; see server/README.md); flags override it")
			httpAddr := fs.String("http", server.DefaultHTTPAddr, "listen address for OCSP, CRLs, CA certificates, /healthz and /metrics")
			ldapAddr := fs.String("ldap", server.DefaultLDAPAddr, `listen address for LDAP with StartTLS ("" for none)`)
			ldapsAddr := fs.String("ldaps", server.DefaultLDAPSAddr, `listen address for LDAPS ("" for none)`)
			listenAny := fs.Bool("listen-any", false, "allow --http to listen beyond loopback (exposes the CA's OCSP and CRLs to the network)")
			base := fs.String("url", "", "base URL the first run writes into certificates (default http://ADDR of --http)")
			keyType := fs.String("key-type", "", "key type of what the first run creates: "+keyTypeList())
			logFormat := fs.String("log-format", "text", "log format: text or json (one line per event, on stderr)")
			logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
			pprofAddr := fs.String("pprof", "", "serve Go's net/http/pprof profiles on this loopback address (off by default; for profiling under load)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				set := map[string]bool{}
				fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
				var targets []publish.Target
				var certMap certmap.Config
				hybridResumption := false
				if *configFile != "" {
					fc, err := server.ReadFile(*configFile)
					if err != nil {
						return err
					}
					targets = fc.Publish
					if fc.CertMap != nil {
						certMap = *fc.CertMap
					}
					hybridResumption = fc.TLSHybridResumption
					pick := func(dst *string, flagName, v string) {
						if v != "" && !set[flagName] {
							*dst = v
						}
					}
					if os.Getenv("PKID_DIR") == "" {
						pick(&g.dir, "dir", fc.Dir)
					}
					if os.Getenv("PKID_STORE") == "" {
						pick(&g.storeURL, "store", fc.Store)
					}
					pick(httpAddr, "http", fc.HTTP)
					if fc.LDAP != nil && !set["ldap"] {
						*ldapAddr = *fc.LDAP
					}
					if fc.LDAPS != nil && !set["ldaps"] {
						*ldapsAddr = *fc.LDAPS
					}
					pick(base, "url", fc.URL)
					pick(keyType, "key-type", fc.KeyType)
					pick(logFormat, "log-format", fc.LogFormat)
					pick(logLevel, "log-level", fc.LogLevel)
					if fc.AllowRemote && !set["listen-any"] {
						*listenAny = true
					}
				}
				level, err := server.ParseLogLevel(*logLevel)
				if err != nil {
					return usagef("--log-level: %v", err)
				}
				if *logFormat != "text" && *logFormat != "json" {
					return usagef("--log-format %q: use text or json", *logFormat)
				}
				var kt ca.KeyType
				if *keyType != "" {
					if kt, err = ca.ParseKeyType(*keyType); err != nil {
						return err
					}
				}
				// Refuse before anything is created.
				if err := server.CheckListenAddr(*httpAddr, *listenAny); err != nil {
					return err
				}
				st, err := g.openStore(ctx, true)
				if err != nil {
					return err
				}
				if os.Getenv("GOMEMLIMIT") == "" {
					// The directory's read cache is most of a large
					// directory's memory; left to GOGC alone the heap
					// grows to twice it before the garbage collector
					// runs. A soft limit above the cache's budget keeps
					// the resident size near what is live.
					debug.SetMemoryLimit(serveMemoryLimit)
				}
				if os.Getenv("GOGC") == "" {
					// Every login allocates tens of kilobytes of TLS
					// garbage; with a small directory the collector
					// would run after every 2-3 MiB of it.
					defer heapfloor.Set(serveHeapFloor)()
				}
				srv, err := server.New(server.Config{
					Dir: g.dir, Store: st, HTTPAddr: *httpAddr, LDAPAddr: *ldapAddr, LDAPSAddr: *ldapsAddr, AllowRemote: *listenAny, URL: *base, KeyType: kt,
					Passphrase: g.passphrase,
					InitPassphrase: func() ([]byte, error) {
						p, _, err := g.givenPassphrase()
						return p, err
					},
					Logger:  server.NewLogger(g.stderr, *logFormat, level),
					Publish: targets,
					CertMap: certMap,

					TLSHybridResumption: hybridResumption,
				})
				if err != nil {
					return err
				}
				printServing(g.stdout, g, srv)
				if *pprofAddr != "" {
					stopProf, err := servePprof(*pprofAddr)
					if err != nil {
						return err
					}
					defer stopProf()
					fmt.Fprintf(g.stderr, "pprof profiles on http://%s/debug/pprof/\n", *pprofAddr)
				}
				// SIGINT/SIGTERM end ctx (main); Serve then shuts down
				// gracefully within ShutdownTimeout.
				return srv.Serve(ctx)
			}
		},
	})
}

// serveMemoryLimit is pkid serve's soft limit on the Go runtime's memory
// (unless GOMEMLIMIT is set): the directory cache's budget plus room for
// the rest of the server.
const serveMemoryLimit = directory.DefaultCacheBytes + 48<<20

// serveHeapFloor is pkid serve's smallest heap goal (unless GOGC is set):
// under a login load with a small directory it cuts the collector's
// cycles from about 50 a second to about 10, and a tenth of the
// instructions of a resumed login, for about 11 MiB more resident
// memory. A live heap above half of it is collected at GOGC=100 as before.
const serveHeapFloor = 16 << 20

// printServing tells the user what the first run made and commands that
// work as printed against the running server.
func printServing(w io.Writer, g *globals, srv *server.Server) {
	b := srv.Bootstrap()
	rel := func(p string) string { return shellQuote(p) }
	if b.CreatedCA {
		fmt.Fprintf(w, "Created a CA in %s:\n", g.dir)
		for _, c := range b.CAs {
			fmt.Fprintf(w, "  %-8s %s\n", c.ID, c.Subject)
		}
		fmt.Fprintf(w, "  %s is the root to trust; %s holds the issuing CA and the root.\n", rel(b.CAFile), rel(b.ChainFile))
	}
	if b.CreatedAdmin {
		fmt.Fprintf(w, "Issued the administrator's client certificate %s (%s, serial %s):\n  %s, %s (key, mode 0600), %s\n",
			server.AdminSubject, b.DefaultCA.ID, b.AdminSerial, rel(b.AdminCert), rel(b.AdminKey), rel(b.AdminChain))
	}
	if b.CreatedCA || b.CreatedAdmin {
		fmt.Fprintf(w, "OCSP responder certificates are in %s (renewed automatically).\n\n", rel(filepath.Join(g.dir, server.ResponderDirName)))
	}
	// Print commands against the listener; the CA's URL when it names the
	// same port (it may carry a host name instead of 127.0.0.1).
	url := srv.URL()
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	if u, err := neturl.Parse(b.URL); err == nil && b.URL != "" && u.Port() == port {
		url = strings.TrimSuffix(b.URL, "/")
	} else if b.URL != "" {
		fmt.Fprintf(w, "Note: the CA's certificates point to %s, not to this listener; clients follow them there.\n", b.URL)
	}
	fmt.Fprintf(w, "Serving %s: OCSP %s, CRLs %s, CA certificates %s, %s, %s\n",
		srv.URL(), ca.OCSPURL(url), ca.CRLURL(url, b.DefaultCA.ID), ca.CAIssuersURL(url, b.DefaultCA.ID), server.HealthPath, server.MetricsPath)
	cert := rel(b.AdminCert)
	if b.AdminSerial == "" {
		// A node that joined a store another node created: the
		// administrator's certificate stayed with that node.
		cert = "CERT.pem"
		fmt.Fprintf(w, "\nThis node serves a CA another node created; the administrator's certificate is in that node's data directory.\n")
	}
	fmt.Fprintf(w, "\nCheck a certificate with OCSP:\n  openssl ocsp -issuer %s -cert %s -url %s -CAfile %s\n",
		rel(b.ChainFile), cert, ca.OCSPURL(url), rel(b.CAFile))
	fmt.Fprintf(w, "Fetch and verify the CRL:\n  curl -o crl.der %s\n  openssl crl -inform DER -in crl.der -CAfile %s -noout -text\n",
		ca.CRLURL(url, b.DefaultCA.ID), rel(b.ChainFile))
	if a := srv.LDAPSAddr(); a != nil {
		fmt.Fprintf(w, "Search the directory (suffix %s) over LDAPS, and bind as the administrator with its certificate:\n  LDAPTLS_CACERT=%s ldapsearch -H ldaps://%s -x -b \"\" -s base +\n  LDAPTLS_CACERT=%s LDAPTLS_CERT=%s LDAPTLS_KEY=%s ldapwhoami -H ldaps://%s -Y EXTERNAL -Q\n",
			srv.Suffix(), rel(b.CAFile), a, rel(b.CAFile), rel(b.AdminChain), rel(b.AdminKey), a)
	}
	if a := srv.LDAPAddr(); a != nil {
		fmt.Fprintf(w, "Over LDAP with StartTLS, as the administrator (the suffix's owner; anonymous sees no entries):\n  LDAPTLS_CACERT=%s LDAPTLS_CERT=%s LDAPTLS_KEY=%s ldapsearch -H ldap://%s -ZZ -Y EXTERNAL -Q -b %s\n",
			rel(b.CAFile), rel(b.AdminChain), rel(b.AdminKey), a, shellQuote(srv.Suffix()))
	}
	fmt.Fprintf(w, "Revoke from another terminal (OCSP and the CRL change within a second):\n  pkid revoke%s %s --reason keyCompromise\n\n",
		dirFlag(g), cert)
	fmt.Fprintf(w, "Stop with Ctrl-C (started %s).\n", time.Now().Format(time.RFC3339))
}
