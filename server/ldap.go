package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/directory/certmap"
	"github.com/pkid/pkid/internal/tlshello"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/store"
)

// Defaults of the LDAP listeners `pkid serve` opens (DESIGN.md).
const (
	DefaultLDAPAddr  = "127.0.0.1:1389" // LDAP + StartTLS
	DefaultLDAPSAddr = "127.0.0.1:1636" // LDAPS
	// LDAPCertFileName and LDAPKeyFileName hold the directory's server
	// certificate (with its chain) and key, under the data directory.
	LDAPCertFileName = "ldap.pem"
	LDAPKeyFileName  = "ldap.key.pem"
	// LDAPCertRenewal: the directory's certificate is reissued when less
	// than this share of its lifetime remains.
	ldapCertRenewShare = 3
)

// DefaultSuffixFallback is the suffix when the CA's name has no O or DC
// attribute to derive one from.
const DefaultSuffixFallback = "o=pkid"

// SuffixFor derives the directory's suffix from a CA's subject DN: the
// name from its first organization (O) or domain component (DC) RDN to
// the end, attribute types in lower case, values as written. So "CN=pkid
// Issuing CA,O=pkid" gives "o=pkid", "CN=SSCA256,OU=CA,O=SSS,C=GB" gives
// "o=SSS,c=GB" and "CN=Root,DC=example,DC=org" gives
// "dc=example,dc=org"; a name with neither gives DefaultSuffixFallback.
func SuffixFor(caSubject string) string {
	d, err := directory.ParseDN(caSubject)
	if err != nil {
		return DefaultSuffixFallback
	}
	for i, rdn := range d {
		if len(rdn) == 1 && (strings.EqualFold(rdn[0].Type, "o") || strings.EqualFold(rdn[0].Type, "dc")) {
			return lowerTypes(d[i:].String())
		}
	}
	return DefaultSuffixFallback
}

// lowerTypes writes a DN's attribute types in lower case, as slapd and
// most directories show them ("CN=admin,O=pkid" → "cn=admin,o=pkid").
func lowerTypes(dn string) string {
	d, err := directory.ParseDN(dn)
	if err != nil {
		return dn
	}
	for j := range d {
		r := append(directory.RDN(nil), d[j]...)
		for k := range r {
			r[k].Type = strings.ToLower(r[k].Type)
		}
		d[j] = r
	}
	return d.String()
}

// ldapState is the directory side of the server.
type ldapState struct {
	srv     *ldap.Server
	tree    *directory.Tree
	suffix  string
	adminDN string
	ln, lns net.Listener
	cert    atomic.Pointer[tls.Certificate]
}

// setupLDAP prepares the directory when an LDAP listener is configured:
// the tree over the store, on a first run the suffix and the
// administrator's entry, the directory's server certificate, and the
// listeners.
func (s *Server) setupLDAP(ctx context.Context) error {
	cfg := s.cfg
	if cfg.LDAPAddr == "" && cfg.LDAPSAddr == "" && cfg.LDAPListener == nil && cfg.LDAPSListener == nil {
		return nil
	}
	if _, ok := s.st.(store.DirectoryStore); !ok {
		return fmt.Errorf("the store %T cannot hold a directory; use the SQLite store or run without --ldap/--ldaps", s.st)
	}
	l := &ldapState{adminDN: lowerTypes(AdminSubject)}
	subject := ""
	if s.boot.DefaultCA != nil {
		subject = s.boot.DefaultCA.Subject
	}
	l.suffix = SuffixFor(subject)
	suffixes := []string{l.suffix}
	if !under(l.adminDN, l.suffix) {
		// The admin's certificate subject names its entry (SASL EXTERNAL);
		// when the CA's name gives another suffix, the admin's parent is
		// a naming context too.
		if p, err := directory.ParseDN(l.adminDN); err == nil {
			suffixes = append(suffixes, p.Parent().String())
		}
	}
	// Every CA appears at its own DN with its current CRL, and its
	// certificates in a read-only view below it (directory.PKI).
	pki, err := directory.NewPKI(directory.PKIConfig{Store: s.st, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	tree, err := newACLTree(directory.Config{Store: s.st, Suffixes: suffixes, Providers: []directory.Provider{pki}, Now: cfg.Now})
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	l.tree = tree
	if err := l.bootstrapEntries(ctx, s); err != nil {
		return err
	}
	if err := s.ensureLDAPCert(ctx, l); err != nil {
		return err
	}
	// The handshake asks for a client certificate and, as crypto/tls
	// always does, checks that the client holds its key (CertificateVerify),
	// but does not verify the chain (RequestClientCert): the EXTERNAL bind
	// does, against pkid's CAs as the store lists them at that moment, so
	// an expired, untrusted or serverAuth-only certificate gets
	// invalidCredentials naming its serial and the reason instead of a TLS
	// alert, and a client that binds simply or anonymously is not refused
	// for the certificate it happened to present. The CertificateRequest
	// names no CAs (no ClientCAs): OpenSSL clients, ldapwhoami among
	// them, withhold a certificate whose issuer is not named, and would
	// then get "no mechanism available" instead of the reason.
	//
	// Session tickets are on (crypto/tls's default, for LDAPS and
	// StartTLS alike, which share this config): a client that reconnects
	// resumes without the certificate signatures. The ticket keys are
	// crypto/tls's automatic ones, rotated daily and valid for a week; a
	// resumed session keeps the client's certificate chain, and the
	// EXTERNAL bind still checks its validity and, in the store, its
	// revocation at every bind (server/certlogin_test.go).
	tlsCfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return l.cert.Load(), nil },
		ClientAuth:     tls.RequestClientCert,
	}
	// Key exchange: every full handshake keeps crypto/tls's default,
	// hybrid post-quantum X25519MLKEM768 when the client offers it. A
	// handshake that resumes a session uses X25519 (or another classical
	// group the client sent a share for): its keys come from the session's
	// PSK, which the hybrid full handshake established and which travels
	// only inside the ticket, sealed with the server's ticket key, so it
	// stays post-quantum protected; the hybrid share would add protection
	// only against a later theft of that in-memory key, at the price of
	// an ML-KEM encapsulation per login. The Resumer returns the classical
	// configuration only for a ClientHello whose ticket crypto/tls will
	// accept, so a refused ticket is a hybrid full handshake, never a
	// classical one (internal/tlshello). TLSHybridResumption turns this off.
	var wrapTLS func(net.Conn) net.Conn
	if !cfg.TLSHybridResumption {
		r, err := tlshello.NewResumer(tlsCfg, s.log)
		if err != nil {
			return fmt.Errorf("LDAP TLS: %w", err)
		}
		wrapTLS = tlshello.NewConn
		s.metrics.resumerCounts(r.Counts)
	}
	// SASL EXTERNAL: certmap verifies the chain as presented (its chain
	// cache spares a repeat login the signatures), reads its revocation
	// state from the store at every bind (a revocation applies to the
	// next bind) and maps it to an entry by the configured rules.
	mc := cfg.CertMap
	mc.Store, mc.Tree, mc.Now = s.st, tree, cfg.Now
	mc.SearchAs = directory.Identity{DN: l.adminDN, Mechanism: ldap.MechanismExternal}
	mapper, err := certmap.New(mc)
	if err != nil {
		return fmt.Errorf("certmap: %w", err)
	}
	backend := &certmap.Backend{LDAPBackend: &directory.LDAPBackend{Tree: tree}, Mapper: mapper}
	l.srv, err = ldap.NewServer(ldap.ServerConfig{Backend: backend, TLS: tlsCfg, TLSConn: wrapTLS, Logger: s.log, Now: cfg.Now})
	if err != nil {
		return err
	}
	if l.ln, err = s.listen(cfg.LDAPListener, cfg.LDAPAddr, "--ldap"); err != nil {
		return err
	}
	if l.lns, err = s.listen(cfg.LDAPSListener, cfg.LDAPSAddr, "--ldaps"); err != nil {
		if l.ln != nil {
			l.ln.Close()
		}
		return err
	}
	s.ldap = l
	return nil
}

func (s *Server) listen(ln net.Listener, addr, flag string) (net.Listener, error) {
	if ln != nil {
		if err := checkLoopback(ln.Addr().String(), s.cfg.AllowRemote, "the "+flag+" listener's address"); err != nil {
			return nil, err
		}
		return ln, nil
	}
	if addr == "" {
		return nil, nil
	}
	if err := checkLoopback(addr, s.cfg.AllowRemote, flag); err != nil {
		return nil, err
	}
	ln, err := listenTCP(addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another pkid serve running? choose another address with %s)", addr, err, flag)
	}
	return ln, nil
}

// under reports whether dn is at or below base (case-insensitively,
// which suffices for the names pkid makes itself).
func under(dn, base string) bool {
	a, err1 := directory.ParseDN(dn)
	b, err2 := directory.ParseDN(base)
	if err1 != nil || err2 != nil || len(a) < len(b) {
		return false
	}
	return strings.EqualFold(a[len(a)-len(b):].String(), b.String())
}

// bootstrapEntries creates the suffix and the administrator's entry when
// they are missing (a first run, or a store that predates the directory).
func (l *ldapState) bootstrapEntries(ctx context.Context, s *Server) error {
	admin := directory.Identity{DN: l.adminDN, Mechanism: mechanismInternal}
	exists := func(dn string) (bool, error) {
		// A parent that exists only above pkid's CA entries (virtual) is
		// not stored yet: create it like any missing suffix.
		if norm, err := directory.NormalizeDN(l.tree.Schema(), dn); err == nil {
			if o, err := l.tree.Ownership(ctx, norm); err != nil {
				return false, err
			} else if o.Class == directory.ClassVirtualParent {
				return false, nil
			}
		}
		req := &ldap.SearchRequest{BaseObject: dn, Scope: ldap.ScopeBaseObject, Filter: ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"}, Attributes: []string{"1.1"}}
		n := 0
		_, err := l.tree.Search(ctx, admin, directory.SearchParams{Request: req}, func(*directory.Entry) error { n++; return nil })
		var le *ldap.Error
		if errors.As(err, &le) && le.Code == ldap.ResultNoSuchObject {
			return false, nil
		}
		return n > 0, err
	}
	mk := func(dn string) error {
		ok, err := exists(dn)
		if err != nil || ok {
			return err
		}
		d, err := directory.ParseDN(dn)
		if err != nil || len(d) == 0 || len(d[0]) != 1 {
			return fmt.Errorf("directory suffix %q: %v", dn, err)
		}
		rdn := d[0][0]
		e := &directory.Entry{DN: dn}
		switch strings.ToLower(rdn.Type) {
		case "o":
			e.Attributes = []directory.Attribute{{Type: "objectClass", Values: [][]byte{[]byte("organization")}}, {Type: "o", Values: [][]byte{[]byte(rdn.Value)}}}
		case "dc":
			e.Attributes = []directory.Attribute{{Type: "objectClass", Values: [][]byte{[]byte("domain")}}, {Type: "dc", Values: [][]byte{[]byte(rdn.Value)}}}
		case "c":
			e.Attributes = []directory.Attribute{{Type: "objectClass", Values: [][]byte{[]byte("country")}}, {Type: "c", Values: [][]byte{[]byte(rdn.Value)}}}
		default:
			return fmt.Errorf("cannot create the directory suffix %q: its RDN type %s is not o, dc or c", dn, rdn.Type)
		}
		if err := l.tree.Add(ctx, admin, e); err != nil {
			return fmt.Errorf("create the directory suffix %s: %w", dn, err)
		}
		s.log.Info("created directory suffix", "dn", dn)
		return nil
	}
	for _, sfx := range l.suffixesToMake() {
		if err := mk(sfx); err != nil {
			return err
		}
		if err := ensureSuffixOwner(ctx, l.tree, sfx, l.adminDN); err != nil {
			return err
		}
	}
	ok, err := exists(l.adminDN)
	if err != nil {
		return fmt.Errorf("look up the administrator's entry: %w", err)
	}
	if ok {
		return nil
	}
	d, _ := directory.ParseDN(l.adminDN)
	cn := d[0][0].Value
	e := &directory.Entry{DN: l.adminDN, Attributes: []directory.Attribute{
		{Type: "objectClass", Values: [][]byte{[]byte("person"), []byte("pkiUser")}},
		{Type: "cn", Values: [][]byte{[]byte(cn)}},
		{Type: "sn", Values: [][]byte{[]byte(cn)}},
		{Type: "description", Values: [][]byte{[]byte("pkid administrator: binds with SASL EXTERNAL and the client certificate admin.pem")}},
	}}
	if der, err := readCertDER(s.boot.AdminCert); err == nil {
		e.Attributes = append(e.Attributes, directory.Attribute{Type: "userCertificate;binary", Values: [][]byte{der}})
	}
	if err := l.tree.Add(ctx, admin, e); err != nil {
		return fmt.Errorf("create the administrator's entry %s: %w", l.adminDN, err)
	}
	s.log.Info("created directory entry", "dn", l.adminDN, "role", "administrator")
	return nil
}

// suffixesToMake lists the suffix and, when the admin's entry is not under
// it, the admin's parent.
func (l *ldapState) suffixesToMake() []string {
	out := []string{l.suffix}
	if !under(l.adminDN, l.suffix) {
		if d, err := directory.ParseDN(l.adminDN); err == nil {
			out = append(out, d.Parent().String())
		}
	}
	return out
}

func readCertDER(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return blk.Bytes, nil
}

// ensureLDAPCert loads the directory's server certificate from the data
// directory, issuing a new one (DNS:localhost, IP:127.0.0.1 and the
// listeners' IP addresses) when it is missing, unreadable or due for
// renewal.
func (s *Server) ensureLDAPCert(ctx context.Context, l *ldapState) error {
	certFile, keyFile := filepath.Join(s.cfg.Dir, LDAPCertFileName), filepath.Join(s.cfg.Dir, LDAPKeyFileName)
	if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && c.Leaf != nil && !s.dueForRenewal(c.Leaf) {
		l.cert.Store(&c)
		return nil
	}
	sans := []string{"DNS:localhost", "IP:127.0.0.1"}
	for _, a := range []string{s.cfg.LDAPAddr, s.cfg.LDAPSAddr} {
		host, _, err := net.SplitHostPort(a)
		if ip, perr := netip.ParseAddr(host); err == nil && perr == nil && !ip.IsUnspecified() && ip.String() != "127.0.0.1" {
			sans = append(sans, "IP:"+ip.String())
		} else if err == nil && perr != nil && host != "" && host != "localhost" {
			sans = append(sans, "DNS:"+host)
		}
	}
	req := ca.Request{Profile: "server", Subject: "CN=localhost," + strings.ToUpper(l.suffix[:1]) + l.suffix[1:], SANs: strings.Join(dedupe(sans), ","), KeyType: s.cfg.KeyType}
	if s.boot.DefaultCA != nil {
		req.CAID = s.boot.DefaultCA.ID
	}
	iss, err := s.svc.Issue(ctx, req)
	if err != nil {
		return fmt.Errorf("issue the directory's server certificate: %w", err)
	}
	keyPEM, err := iss.KeyPEM()
	if err != nil {
		return err
	}
	chainPEM := append(iss.CertPEM(), iss.ChainPEM()...)
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(certFile, chainPEM, 0o644); err != nil {
		return err
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load the directory's new server certificate: %w", err)
	}
	l.cert.Store(&c)
	s.log.Info("issued directory server certificate", "serial", iss.Serial, "sans", strings.Join(sans, ","), "not_after", iss.Certificate.NotAfter, "file", certFile)
	return nil
}

func dedupe(v []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (s *Server) dueForRenewal(c *x509.Certificate) bool {
	life := c.NotAfter.Sub(c.NotBefore)
	return s.now().After(c.NotAfter.Add(-life / ldapCertRenewShare))
}

// renewLDAPCert checks the directory's certificate every hour (and at
// the first tick) and swaps in a new one before it expires; connections
// in progress keep theirs.
func (s *Server) renewLDAPCert(ctx context.Context) {
	l := s.ldap
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c := l.cert.Load(); c != nil && c.Leaf != nil && !s.dueForRenewal(c.Leaf) {
			continue
		}
		if err := s.ensureLDAPCert(ctx, l); err != nil && ctx.Err() == nil {
			s.log.Warn("renew the directory's server certificate", "err", err)
		}
	}
}

// serveLDAP runs the LDAP listeners until ctx ends.
func (s *Server) serveLDAP(ctx context.Context, errc chan<- error) {
	l := s.ldap
	if l.ln != nil {
		go func() {
			if err := l.srv.Serve(ctx, l.ln); err != nil && !errors.Is(err, ldap.ErrServerClosed) {
				errc <- fmt.Errorf("LDAP server: %w", err)
			}
		}()
	}
	if l.lns != nil {
		go func() {
			if err := l.srv.ServeTLS(ctx, l.lns); err != nil && !errors.Is(err, ldap.ErrServerClosed) {
				errc <- fmt.Errorf("LDAPS server: %w", err)
			}
		}()
	}
}

// LDAPAddr and LDAPSAddr are the directory's listener addresses (nil
// when not listening).
func (s *Server) LDAPAddr() net.Addr {
	if s.ldap == nil || s.ldap.ln == nil {
		return nil
	}
	return s.ldap.ln.Addr()
}

// LDAPSAddr is the LDAPS listener's address, nil when not listening.
func (s *Server) LDAPSAddr() net.Addr {
	if s.ldap == nil || s.ldap.lns == nil {
		return nil
	}
	return s.ldap.lns.Addr()
}

// Suffix is the directory's suffix ("" without LDAP).
func (s *Server) Suffix() string {
	if s.ldap == nil {
		return ""
	}
	return s.ldap.suffix
}
