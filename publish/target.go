package publish

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pkid/pkid/ldap"
)

// Bind methods of a Target.
const (
	BindExternal = "external" // SASL EXTERNAL with the TLS client certificate
	BindSimple   = "simple"   // DN and password
)

// Target defaults.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultResync     = 5 * time.Minute
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultDN is the DN template that places each CA at its own subject DN.
	DefaultDN = "{subject}"
)

// Target is one external directory to publish to.
type Target struct {
	// Name identifies the target in status, metrics and the store's keys;
	// letters, digits, '-', '_' and '.'.
	Name string `json:"name"`
	// URL is ldap://host:port or ldaps://host:port.
	URL string `json:"url"`
	// StartTLS upgrades an ldap:// connection before binding.
	StartTLS bool `json:"starttls,omitempty"`
	// Bind is BindExternal (needs CertFile and KeyFile, TLS) or BindSimple
	// (needs BindDN and PasswordFile).
	Bind         string `json:"bind"`
	BindDN       string `json:"bind_dn,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
	// CertFile and KeyFile hold a client certificate (PEM), e.g. one issued
	// by pkid with the client profile, presented over TLS.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// CACertFile holds the certificates (PEM) that verify the server; empty
	// means the system roots.
	CACertFile string `json:"ca_cert_file,omitempty"`
	// CAs lists the IDs of the CAs to publish; empty means all.
	CAs []string `json:"cas,omitempty"`
	// DN is the template of each CA entry's DN: {subject} is the CA's
	// subject DN (RFC 4514), {id} its ID, {cn} its subject's common name.
	// Empty means DefaultDN (the CA's own DN, where GSKit looks).
	DN string `json:"dn,omitempty"`
	// Timeout bounds the dial and each LDAP operation; zero means
	// DefaultTimeout.
	Timeout time.Duration `json:"-"`
	// Resync is how often the directory is re-read and repaired even
	// without a change; zero means DefaultResync.
	Resync time.Duration `json:"-"`
	// MinBackoff and MaxBackoff bound the delay after a failed pass; it
	// doubles per consecutive failure, with jitter. Zero means the defaults.
	MinBackoff time.Duration `json:"-"`
	MaxBackoff time.Duration `json:"-"`
}

func (t *Target) withDefaults() Target {
	c := *t
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Resync <= 0 {
		c.Resync = DefaultResync
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.DN == "" {
		c.DN = DefaultDN
	}
	return c
}

// Validate checks the target's settings (not the files' contents).
func (t *Target) Validate() error {
	if t.Name == "" {
		return errors.New("publish target without a name")
	}
	for _, r := range t.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)) {
			return fmt.Errorf("publish target %q: name may hold only letters, digits, '-', '_' and '.'", t.Name)
		}
	}
	u, err := ldap.ParseURL(t.URL)
	if err != nil {
		return fmt.Errorf("publish target %q: %w", t.Name, err)
	}
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return fmt.Errorf("publish target %q: URL %s is not ldap:// or ldaps://", t.Name, t.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("publish target %q: URL %s names no host", t.Name, t.URL)
	}
	if t.StartTLS && u.Scheme == "ldaps" {
		return fmt.Errorf("publish target %q: starttls with an ldaps:// URL; use one or the other", t.Name)
	}
	switch t.Bind {
	case BindExternal:
		if t.CertFile == "" || t.KeyFile == "" {
			return fmt.Errorf("publish target %q: bind external needs cert_file and key_file (a client certificate, e.g. from `pkid issue --profile client`)", t.Name)
		}
		if u.Scheme == "ldap" && !t.StartTLS {
			return fmt.Errorf("publish target %q: bind external needs TLS: use an ldaps:// URL or starttls", t.Name)
		}
	case BindSimple:
		if t.BindDN == "" || t.PasswordFile == "" {
			return fmt.Errorf("publish target %q: bind simple needs bind_dn and password_file", t.Name)
		}
	default:
		return fmt.Errorf("publish target %q: bind must be %q or %q, not %q", t.Name, BindExternal, BindSimple, t.Bind)
	}
	if t.DN != "" && !strings.Contains(t.DN, "{") {
		if len(t.CAs) != 1 {
			return fmt.Errorf("publish target %q: a fixed dn %q needs exactly one CA in cas (or use {subject}, {id} or {cn})", t.Name, t.DN)
		}
	}
	return nil
}

// clientConfig loads the files a connection needs; it is called per pass,
// so a renewed client certificate is picked up without a restart.
func (t *Target) clientConfig() (*ldap.ClientConfig, error) {
	cfg := &ldap.ClientConfig{StartTLS: t.StartTLS, Timeout: t.Timeout, MaxEntries: 16, MaxMessageSize: 64 << 20}
	needTLS := t.StartTLS || strings.HasPrefix(strings.ToLower(t.URL), "ldaps:")
	if !needTLS {
		return cfg, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CACertFile != "" {
		pem, err := os.ReadFile(t.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_cert_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_cert_file %s holds no PEM certificate", t.CACertFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	cfg.TLSConfig = tc
	return cfg, nil
}

func (t *Target) password() (string, error) {
	b, err := os.ReadFile(t.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("read password_file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// UnmarshalJSON reads a target from a configuration file, where durations
// are strings such as "10s" or "5m" (time.ParseDuration).
func (t *Target) UnmarshalJSON(b []byte) error {
	type plain Target
	var aux struct {
		*plain
		Timeout    string `json:"timeout,omitempty"`
		Resync     string `json:"resync,omitempty"`
		MinBackoff string `json:"min_backoff,omitempty"`
		MaxBackoff string `json:"max_backoff,omitempty"`
	}
	aux.plain = (*plain)(t)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return fmt.Errorf("publish target: %w", err)
	}
	for _, d := range []struct {
		name string
		s    string
		dst  *time.Duration
	}{{"timeout", aux.Timeout, &t.Timeout}, {"resync", aux.Resync, &t.Resync}, {"min_backoff", aux.MinBackoff, &t.MinBackoff}, {"max_backoff", aux.MaxBackoff, &t.MaxBackoff}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v < 0 {
			return fmt.Errorf("publish target %q: %s %q: use a duration such as \"10s\" or \"5m\"", t.Name, d.name, d.s)
		}
		*d.dst = v
	}
	return nil
}
