package certmap

import (
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkid/pkid/directory"
	"github.com/pkid/pkid/ldap"
	"github.com/pkid/pkid/revocation"
	"github.com/pkid/pkid/store"
)

// Rule kinds.
const (
	KindSubject     = "subject"
	KindRegexp      = "regexp"
	KindDNFilter    = "dnfilter"
	KindCertificate = "certificate"
)

// Rule is one mapping rule, as written in the server's JSON config.
//
//	{"kind": "subject"}
//	{"kind": "regexp", "match": "^cn=([^,]+),ou=people,o=example$", "replace": "uid=$1,ou=people,o=example"}
//	{"kind": "regexp", "match": "^cn=([^,]+),o=example$", "replace": "ldap:///ou=people,o=example??sub?(uid=$1)"}
//	{"kind": "dnfilter", "sdnfilter": "OU=Sales.O=IBM", "dn": "cn=sales,o=ibm"}
//	{"kind": "dnfilter", "idnfilter": "CN=Issuing CA.O=Example", "base": "o=example", "filter": "(mail={email})"}
//	{"kind": "certificate", "base": "o=example"}
type Rule struct {
	// Name labels the rule in logs and messages; "" = "KIND#N" (N from 1).
	Name string `json:"name,omitempty"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`

	// Match and Replace are the regexp rule (olcAuthzRegexp): Match is a
	// Go regular expression (RE2), matched case-insensitively against the
	// normalised subject DN (lower-case attribute types, case-folded
	// values, "cn=alice,ou=people,o=example"); Replace is a DN or an LDAP
	// URL "ldap:///BASE??SCOPE?FILTER" with $0..$9 replaced by the
	// submatches ($$ is a dollar sign).
	Match   string `json:"match,omitempty"`
	Replace string `json:"replace,omitempty"`

	// SDNFilter and IDNFilter are the dnfilter rule (RACDCERT MAP):
	// partial DNs that the certificate's subject and issuer must end with
	// (see DNFilter). At least one is required; both must match when both
	// are given.
	SDNFilter string `json:"sdnfilter,omitempty"`
	IDNFilter string `json:"idnfilter,omitempty"`

	// DN is a dnfilter rule's fixed target entry.
	DN string `json:"dn,omitempty"`
	// Base and Filter are a dnfilter rule's search (Filter is a template
	// with {email}, {cn}, {uid}, {serial}, {subject}, each value escaped
	// per RFC 4515), and the certificate rule's search base.
	Base   string `json:"base,omitempty"`
	Filter string `json:"filter,omitempty"`
}

// Config configures a Mapper. Only Store and Tree are required. The
// fields a server config file sets (rules, proxy, userBase) have JSON
// names; the rest are wiring.
type Config struct {
	// Store holds pkid's CAs and issued certificates (trust anchors and
	// revocation state, checked at every bind: see Verify).
	Store store.Store `json:"-"`
	// Tree is the directory the rules look entries up in.
	Tree *directory.Tree `json:"-"`
	// Rules are tried in order; none means a single "subject" rule.
	Rules []Rule `json:"rules,omitempty"`
	// Roots and Intermediates add foreign trust anchors and CA
	// certificates to pkid's own CAs. Their leaves are checked for
	// revocation with Revocation.
	Roots, Intermediates []*x509.Certificate `json:"-"`
	// Revocation checks chains of foreign CAs; nil means
	// revocation.New(revocation.Config{Time: Now}) (hard-fail).
	Revocation *revocation.Checker `json:"-"`
	// SearchAs is the identity of the rules' internal searches and
	// lookups; with access control on it must be allowed to read the
	// entries being mapped to (the directory's owner).
	SearchAs directory.Identity `json:"-"`
	// Proxy lists DNs whose certificates may assume any existing
	// authorization identity (RFC 4513 §5.2.1.8). Everyone else may only
	// ask for the identity the certificate maps to.
	Proxy []string `json:"proxy,omitempty"`
	// UserBase is where "u:NAME" authorization identities are looked up,
	// as (uid=NAME) in the subtree; "" refuses "u:" identities.
	UserBase string `json:"userBase,omitempty"`
	// Now returns the current time; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Mapper verifies client certificates and maps them to entries. It is
// safe for concurrent use.
type Mapper struct {
	cfg   Config
	rules []*rule
	rev   *revocation.Checker
	proxy map[string]bool // normalised DNs
	// parsed caches CA certificates by DER (a few per store).
	parsed sync.Map
	// trustSet is built from the store's list of CAs as read at casAt
	// (see caMaxAge).
	casMu    sync.Mutex
	trustSet *trustSet
	casAt    time.Time
	// chains caches verified paths (chaincache.go); pathChecks counts the
	// path validations that were not served from it.
	chains     chainCache
	pathChecks atomic.Int64
	// revs caches the store's good answers for pkid's certificates
	// (revcache.go).
	revs  revCache
	revOn bool // cacheable(Store)
	// namesMemo holds the certNames of recent client certificates by DER.
	namesMu   sync.Mutex
	namesMemo map[string]*certNames
}

type rule struct {
	Rule
	re        *regexp.Regexp
	url       *ldap.URL // regexp rule whose Replace is an LDAP URL
	sdn, idn  *DNFilter
	filterTpl string
}

// New checks cfg and compiles the rules.
func New(cfg Config) (*Mapper, error) {
	if cfg.Store == nil || cfg.Tree == nil {
		return nil, errors.New("certmap: Config.Store and Config.Tree are required")
	}
	m := &Mapper{cfg: cfg, rev: cfg.Revocation, proxy: map[string]bool{}, revOn: cacheable(cfg.Store)}
	if m.rev == nil {
		m.rev = revocation.New(revocation.Config{Time: cfg.Now})
	}
	rules := cfg.Rules
	if len(rules) == 0 {
		rules = []Rule{{Kind: KindSubject}}
	}
	for i, r := range rules {
		cr, err := compile(r, cfg.Tree)
		if err != nil {
			return nil, fmt.Errorf("certmap: rule %d (%s): %w", i+1, r.Kind, err)
		}
		if cr.Name == "" {
			cr.Name = fmt.Sprintf("%s#%d", r.Kind, i+1)
		}
		m.rules = append(m.rules, cr)
	}
	for _, p := range cfg.Proxy {
		n, err := directory.NormalizeDN(cfg.Tree.Schema(), p)
		if err != nil {
			return nil, fmt.Errorf("certmap: proxy DN %q: %w", p, err)
		}
		m.proxy[n] = true
	}
	return m, nil
}

func compile(r Rule, t *directory.Tree) (*rule, error) {
	cr := &rule{Rule: r}
	switch r.Kind {
	case KindSubject:
	case KindRegexp:
		if r.Match == "" || r.Replace == "" {
			return nil, errors.New("regexp rules need match and replace")
		}
		re, err := regexp.Compile("(?i)" + r.Match)
		if err != nil {
			return nil, fmt.Errorf("match: %w", err)
		}
		cr.re = re
		if strings.HasPrefix(strings.ToLower(r.Replace), "ldap:") {
			// Check the URL's shape now with placeholders filled in.
			u, err := ldap.ParseURL(dollarRe.ReplaceAllString(r.Replace, "x"))
			if err != nil {
				return nil, fmt.Errorf("replace: %w", err)
			}
			if u.Host != "" {
				return nil, fmt.Errorf("replace: the LDAP URL must name no host (ldap:///base??sub?filter)")
			}
			cr.url = u
		}
	case KindDNFilter:
		if r.SDNFilter == "" && r.IDNFilter == "" {
			return nil, errors.New("dnfilter rules need sdnfilter or idnfilter")
		}
		var err error
		if r.SDNFilter != "" {
			if cr.sdn, err = ParseDNFilter(r.SDNFilter); err != nil {
				return nil, fmt.Errorf("sdnfilter: %w", err)
			}
		}
		if r.IDNFilter != "" {
			if cr.idn, err = ParseDNFilter(r.IDNFilter); err != nil {
				return nil, fmt.Errorf("idnfilter: %w", err)
			}
		}
		if (r.DN == "") == (r.Filter == "") {
			return nil, errors.New("dnfilter rules need either dn or base and filter")
		}
		if r.DN != "" {
			if _, err := directory.ParseDN(r.DN); err != nil {
				return nil, fmt.Errorf("dn: %w", err)
			}
		} else {
			if r.Base == "" {
				return nil, errors.New("a dnfilter rule with a filter needs a base")
			}
			if _, err := ldap.ParseFilter(placeholderRe.ReplaceAllString(r.Filter, "x")); err != nil {
				return nil, fmt.Errorf("filter: %w", err)
			}
			for _, p := range placeholderRe.FindAllString(r.Filter, -1) {
				if _, ok := placeholders[p]; !ok {
					return nil, fmt.Errorf("filter: unknown placeholder %s (known: {email} {cn} {uid} {serial} {subject})", p)
				}
			}
		}
	case KindCertificate:
		if r.Base == "" {
			return nil, errors.New("certificate rules need a base to search for userCertificate;binary")
		}
	default:
		return nil, fmt.Errorf("unknown kind %q (known: subject, regexp, dnfilter, certificate)", r.Kind)
	}
	if r.Base != "" {
		if _, err := directory.ParseDN(r.Base); err != nil {
			return nil, fmt.Errorf("base: %w", err)
		}
	}
	return cr, nil
}
