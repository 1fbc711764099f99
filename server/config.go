package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/directory/certmap"
	"github.com/pkid/pkid/publish"
	"github.com/pkid/pkid/store"
)

// Defaults for the zero Config fields.
const (
	DefaultDir             = "pkid-data"
	DefaultHTTPAddr        = "127.0.0.1:8080"
	DefaultCRLDelay        = 100 * time.Millisecond
	DefaultShutdownTimeout = 5 * time.Second
	// AdminSubject is the DN of the administrator's client certificate
	// that the first run issues.
	AdminSubject = "CN=admin,O=pkid"
)

// Config configures a Server. Store is required; every other zero field
// takes the documented default, and the zero listen address is loopback.
type Config struct {
	// Dir is the data directory (DefaultDir). The first run writes ca.pem,
	// chain.pem, admin.pem, admin.key.pem and admin.chain.pem at its top;
	// the OCSP responder certificates and keys live in Dir/ocsp.
	Dir string
	// Store is the store the server serves and follows. The server does
	// not close it.
	Store store.Store
	// HTTPListener, if set, is used instead of listening on HTTPAddr.
	HTTPListener net.Listener
	// HTTPAddr is where OCSP, CRLs, CA certificates, /healthz and /metrics
	// are served (DefaultHTTPAddr). Port 0 picks a free port; Addr reports
	// it, and a first run writes the real port into the CA's URLs.
	HTTPAddr string
	// LDAPAddr and LDAPSAddr are where the directory listens for LDAP
	// (with StartTLS) and LDAPS; "" does not listen (pkid serve's flags
	// default to DefaultLDAPAddr and DefaultLDAPSAddr). LDAPListener and
	// LDAPSListener, if set, are used instead. With any of them set, the
	// first run also creates the directory's suffix (SuffixFor the CA's
	// name), the administrator's entry and the directory's server
	// certificate.
	LDAPAddr, LDAPSAddr         string
	LDAPListener, LDAPSListener net.Listener
	// AllowRemote permits listening on an address other than loopback.
	// Without it New refuses, so exposing the CA is always a decision.
	AllowRemote bool
	// URL is the http base URL the first run writes into certificates
	// (AIA caIssuers and OCSP, CRL distribution points). Default:
	// http://ADDR for the bound address (the host name when listening on
	// every interface).
	URL string
	// KeyType is the key type of the CAs and certificates the first run
	// makes (ca.DefaultKeyType).
	KeyType ca.KeyType
	// Passphrase returns the passphrase of encrypted CA keys: the server
	// signs CRLs and responder certificates. It is called once, when the
	// first encrypted key is needed.
	Passphrase func() ([]byte, error)
	// InitPassphrase, on a first run, returns the passphrase that encrypts
	// the new CA keys; nil (or an empty result) leaves them unencrypted.
	InitPassphrase func() ([]byte, error)
	// Logger receives one line per event (slog.Default() if nil).
	Logger *slog.Logger
	// WatchInterval is how often the store's change feed is polled
	// (store.DefaultWatchInterval).
	WatchInterval time.Duration
	// CRLDelay is how long a CRL rebuild waits after the first revocation
	// for more to arrive (DefaultCRLDelay), so a burst costs one CRL.
	CRLDelay time.Duration
	// OCSPValidity is nextUpdate − thisUpdate of OCSP responses
	// (ocsp.DefaultValidity).
	OCSPValidity time.Duration
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// when its context ends (DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (ocsp.ReadHeaderTimeout); the other HTTP timeouts
	// are those of ocsp.NewServer.
	ReadHeaderTimeout time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Publish lists external LDAP directories that receive every CA's
	// certificate and CRLs (package publish); none by default.
	Publish []publish.Target
	// CertMap holds the SASL EXTERNAL mapping rules, proxy DNs and user
	// base (package directory/certmap); the zero value maps a certificate
	// whose subject DN names an entry. The server fills in the store, the
	// tree and the clock.
	CertMap certmap.Config
	// TLSHybridResumption keeps the hybrid post-quantum key exchange
	// (X25519MLKEM768) for resumed TLS 1.3 handshakes of the LDAP
	// listeners too. By default a handshake that will resume a session
	// uses a classical (EC)DHE share, as its keys also come from the
	// session's PSK, which a hybrid handshake established; full
	// handshakes are hybrid either way (internal/tlshello.Resumer).
	TLSHybridResumption bool
}

// File is the optional configuration file of `pkid serve` (--config):
// a JSON object whose keys are the json names below. Unknown keys are an
// error, so a typo never silently falls back to a default. Command-line
// flags override the file.
//
//	{
//	  "dir": "/var/lib/pkid",
//	  "http": "127.0.0.1:8080",
//	  "allow_remote": false,
//	  "url": "http://pki.example.org:8080",
//	  "log_format": "json",
//	  "log_level": "info"
//	}
type File struct {
	Dir   string `json:"dir"`
	Store string `json:"store"`
	HTTP  string `json:"http"`
	// LDAP and LDAPS are the directory's listen addresses; null/absent
	// keeps the default, "" turns the listener off.
	LDAP        *string `json:"ldap"`
	LDAPS       *string `json:"ldaps"`
	AllowRemote bool    `json:"allow_remote"`
	URL         string  `json:"url"`
	KeyType     string  `json:"key_type"`
	// LogFormat is "text" (default) or "json"; LogLevel is debug, info
	// (default), warn or error.
	LogFormat string `json:"log_format"`
	LogLevel  string `json:"log_level"`
	// Publish lists external LDAP directories to publish CA certificates
	// and CRLs to (see publish.Target for the keys; durations as "10s").
	Publish []publish.Target `json:"publish"`
	// CertMap is how client certificates map to directory entries at a
	// SASL EXTERNAL bind: {"rules": [...], "proxy": [...], "userBase": DN}
	// (see certmap.Rule for the rule keys).
	CertMap *certmap.Config `json:"certmap"`
	// TLSHybridResumption keeps X25519MLKEM768 for resumed handshakes of
	// the LDAP listeners (Config.TLSHybridResumption); default false.
	TLSHybridResumption bool `json:"tls_hybrid_resumption"`
}

// FileKeys lists the configuration file's keys, in File's order, as
// `pkid serve --help` and the error for an unknown key name them.
func FileKeys() string {
	t := reflect.TypeFor[File]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return strings.Join(keys, ", ")
}

// maxConfigBytes bounds the configuration file.
const maxConfigBytes = 1 << 20

// ReadFile reads a configuration file.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("config file %s is larger than %d bytes; it should be a small JSON object", path, maxConfigBytes)
	}
	return ParseFile(path, b)
}

// ParseFile parses the contents of a configuration file; name is used in
// errors.
func ParseFile(name string, b []byte) (*File, error) {
	var c File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
			return nil, fmt.Errorf("config file %s, line %d: %w (the file is a JSON object like {\"http\": \"127.0.0.1:8080\"})", name, line, err)
		}
		return nil, fmt.Errorf("config file %s: %w (keys: %s)", name, err, FileKeys())
	}
	if dec.More() {
		return nil, fmt.Errorf("config file %s: more than one JSON value; give one object", name)
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		return nil, fmt.Errorf("config file %s: %w", name, err)
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("config file %s: log_format %q: use text or json", name, c.LogFormat)
	}
	for i := range c.Publish {
		if err := c.Publish[i].Validate(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", name, err)
		}
	}
	return &c, nil
}

// ParseLogLevel parses debug, info, warn or error ("" is info).
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
}

// NewLogger returns a slog logger writing one line per event to w in
// format "text" or "json".
func NewLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	o := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// CheckListenAddr refuses an --http address beyond this machine unless
// allowRemote; New checks it too, callers may check before creating
// anything.
func CheckListenAddr(addr string, allowRemote bool) error {
	return checkLoopback(addr, allowRemote, "--http")
}

// checkLoopback refuses an address beyond this machine unless allowed.
func checkLoopback(addr string, allow bool, flag string) error {
	if allow {
		return nil
	}
	if !IsLoopback(addr) {
		return fmt.Errorf("%s %s would listen beyond this machine; pkid serves only loopback unless you pass --listen-any (or set \"allow_remote\": true in the config file)", flag, addr)
	}
	return nil
}

// IsLoopback reports whether a host:port address listens only on the
// loopback interface ("localhost", 127.0.0.0/8, ::1). An empty host
// means every interface and is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
