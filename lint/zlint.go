package lint

import (
	"fmt"
	"strings"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	zl "github.com/zmap/zlint/v3/lint"
	// Only the lint families pkid runs are linked in; importing the
	// github.com/zmap/zlint/v3 root package would register every family.
	_ "github.com/zmap/zlint/v3/lints/community"
	_ "github.com/zmap/zlint/v3/lints/rfc"
)

// zlintSources are the zlint sources that apply to a private PKI. The
// filter also matters when another package links in the public-web lint
// families: they are registered globally but never run here.
var zlintSources = zl.SourceList{
	zl.RFC5280,
	zl.RFC5480,
	zl.RFC5891,
	zl.RFC8813,
	zl.Community,
}

// zlintExcluded are lints of the included sources that do not apply to a
// private PKI and cost more than all others together:
// e_cert_issued_by_compromised_emudhra_ca verifies every ECDSA signature
// against a list of leaked public-CA keys (about 8 ms per certificate, 30
// times the budget of linting at issuance); a private CA's own key cannot be
// one of them.
var zlintExcluded = []string{
	"e_cert_issued_by_compromised_emudhra_ca",
}

// zlintConfig tunes lints for the issuance hot path. e_ecdsa_small_private_key
// searches for private scalars below 2^Bits; its default of 16 bits costs
// about 250 µs per certificate, 8 bits about 35 µs, and still catches the
// keys below 256 of the eMudhra incident that motivated the lint.
const zlintConfig = `
[e_ecdsa_small_private_key]
Bits = 8
`

// zlintDuplicates maps zlint lints to the pkid check that reports the same
// problem in words that name its consequence; when the pkid check fired, the
// zlint finding is dropped.
var zlintDuplicates = map[string]string{
	"e_basic_constraints_not_critical":        idCABasicConstraintsNotCritical,
	"e_ext_subject_key_identifier_missing_ca": idCAWithoutSKI,
	"e_crl_missing_crl_number":                idCRLWithoutNumber,
	"e_crl_has_authority_key_identifier":      idCRLWithoutAKI,
	"e_ecdsa_allowed_ku":                      idECKeyEncipherment,
	"n_ecdsa_ee_invalid_ku":                   idECKeyEncipherment,
	"e_ext_key_usage_cert_sign_without_ca":    idCABasicConstraintsMissing,
}

// zlintRunner holds the filtered lints, built once: filtering the registry
// costs far more than linting one certificate.
type zlintRunner struct {
	certLints []*zl.CertificateLint
	// certGates[i] is the ExtensionsMap key of the extension without which
	// certLints[i] cannot apply (see zlintGates), or "".
	certGates []string
	crlLints  []*zl.RevocationListLint
	config    zl.Configuration
	err       error
	certSets  sync.Pool // *certLintSet
	// issuerOnly[i]: certLints[i] is in zlintIssuerOnly.
	issuerOnly []bool
	issuerMu   sync.RWMutex
	issuerMemo map[string][]issuerResult // RawIssuer → result per lint index
}

// zlintIssuerOnly are the zlint lints whose CheckApplies and Execute read
// nothing of the certificate but its issuer name (RawIssuer, or Issuer,
// which zcrypto decodes from it) and nothing of their own instance: their
// result is a function of the issuer's DER name, the same for every
// certificate a CA signs. pkid computes it once per issuer (issuerMemo);
// the framework's effective-date check still runs per certificate.
// TestZlintIssuerOnlyMatchesSource checks each entry against zlint's
// source, TestZlintPathMatchesReference and TestIssuerMemo the results.
var zlintIssuerOnly = map[string]bool{
	"e_issuer_dn_country_not_printable_string": true,
	"e_issuer_field_empty":                     true,
	"w_issuer_dn_leading_whitespace":           true,
	"w_issuer_dn_trailing_whitespace":          true,
	"w_multiple_issuer_rdn":                    true,
}

// maxIssuerMemo bounds issuerMemo: pkid's CAs are a handful; linting files
// from many issuers (pkid lint) only loses the caching beyond it.
const maxIssuerMemo = 256

// issuerResult is what lint i's CheckApplies and Execute gave for an
// issuer. panicked: either panicked, res is the Fatal result zlint's
// Execute reports, before any effective-date check.
type issuerResult struct {
	applies, panicked bool
	res               *zl.LintResult
}

var (
	zlintOnce sync.Once
	zlintRun  zlintRunner
)

func zlints() *zlintRunner {
	zlintOnce.Do(func() {
		reg, err := zl.GlobalRegistry().Filter(zl.FilterOptions{
			IncludeSources: zlintSources,
			ExcludeNames:   zlintExcluded,
		})
		if err != nil {
			zlintRun.err = fmt.Errorf("filter zlint registry: %w", err)
			return
		}
		zlintRun.certLints = reg.CertificateLints().Lints()
		zlintRun.certGates = make([]string, len(zlintRun.certLints))
		for i, l := range zlintRun.certLints {
			if oid, ok := zlintGates[l.Name]; ok {
				zlintRun.certGates[i] = oid.String() // the key zcrypto's parser uses
			}
		}
		zlintRun.issuerOnly = make([]bool, len(zlintRun.certLints))
		for i, l := range zlintRun.certLints {
			zlintRun.issuerOnly[i] = zlintIssuerOnly[l.Name]
		}
		zlintRun.issuerMemo = map[string][]issuerResult{}
		zlintRun.crlLints = reg.RevocationListLints().Lints()
		cfg, err := zl.NewConfigFromString(zlintConfig)
		if err != nil {
			zlintRun.err = fmt.Errorf("zlint configuration: %w", err)
			return
		}
		zlintRun.config = cfg
	})
	return &zlintRun
}

// zlintCertificate runs the selected zlint lints on c.
func zlintCertificate(c *zx509.Certificate) []Finding {
	const object = "" // named by the caller
	r := zlints()
	if r.err != nil {
		return []Finding{zlintUnavailable(object, r.err)}
	}
	set := r.certLintSet()
	defer r.certSets.Put(set)
	memo := r.issuerResults(set, c)
	var out []Finding
	for i, l := range r.certLints {
		var res *zl.LintResult
		if memo != nil && r.issuerOnly[i] {
			res = memo[i].result(l, c)
		} else {
			res = set.execute(i, l, c)
		}
		if f, ok := zlintFinding(res, &l.LintMetadata, object, "Reissue the certificate"); ok {
			out = append(out, f)
		}
	}
	return out
}

// certLintSet is one configured instance of every certificate lint.
// zlint's CertificateLint.Execute makes a new instance and configures it
// (reflection over the TOML tree) for every certificate, which costs more
// than many lints themselves; pkid configures a set once and reuses it, one
// goroutine at a time (a sync.Pool), which is safe because the instances
// hold only their configuration: the lints keep no per-certificate state in
// their fields.
type certLintSet struct {
	lints []zl.CertificateLintInterface
	errs  []error // configuration errors, reported as zlint would
	// fast[i], when set, gives lint i's Execute result (see smallKeyCheck).
	fast []*smallKeyCheck
}

func (r *zlintRunner) certLintSet() *certLintSet {
	if s, ok := r.certSets.Get().(*certLintSet); ok {
		return s
	}
	n := len(r.certLints)
	s := &certLintSet{lints: make([]zl.CertificateLintInterface, n), errs: make([]error, n), fast: make([]*smallKeyCheck, n)}
	for i, l := range r.certLints {
		s.lints[i] = l.Lint()
		s.errs[i] = r.config.MaybeConfigure(s.lints[i], l.Name)
		if l.Name == smallKeyLint && s.errs[i] == nil {
			s.fast[i] = newSmallKeyCheck(s.lints[i])
		}
	}
	return s
}

// execute runs lint i as zl.CertificateLint.Execute does (framework
// filter, CheckApplies, CheckEffective, Execute, a panic as Fatal), on the
// set's configured instance.
func (s *certLintSet) execute(i int, l *zl.CertificateLint, c *zx509.Certificate) (result *zl.LintResult) {
	defer func() {
		if err := recover(); err != nil {
			result = panicResult(l.Name, err)
		}
	}()
	if !l.OverrideFrameworkFilter && (l.Source == zl.CABFBaselineRequirements ||
		l.Source == zl.CABFSMIMEBaselineRequirements || l.Source == zl.CABFCSBaselineRequirements) {
		// Not among zlintSources; keep zlint's own path for them.
		return l.Execute(c, zlints().config)
	}
	if err := s.errs[i]; err != nil {
		return &zl.LintResult{Status: zl.Fatal, Details: err.Error()}
	}
	lint := s.lints[i]
	if g := zlints().certGates[i]; g != "" {
		// util.IsExtInCert(c, oid), the first test of this lint's
		// CheckApplies, without formatting oid.
		if _, ok := c.ExtensionsMap[g]; !ok {
			return &resultNA
		}
	}
	if !lint.CheckApplies(c) {
		return &resultNA
	} else if !l.CheckEffective(c) {
		return &resultNE
	}
	if f := s.fast[i]; f != nil {
		if res := f.execute(c); res != nil {
			return res
		}
	}
	return lint.Execute(c)
}

// issuerResults returns the memoised results of the issuer-only lints for
// c's issuer, computing them with set on first sight, or nil when they
// are run per certificate (a lint with a configuration error).
func (r *zlintRunner) issuerResults(set *certLintSet, c *zx509.Certificate) []issuerResult {
	r.issuerMu.RLock()
	memo, ok := r.issuerMemo[string(c.RawIssuer)]
	r.issuerMu.RUnlock()
	if ok {
		return memo
	}
	memo = make([]issuerResult, len(r.certLints))
	for i, l := range r.certLints {
		if !r.issuerOnly[i] {
			continue
		}
		if set.errs[i] != nil {
			return nil
		}
		memo[i] = set.appliesAndExecute(l.Name, set.lints[i], c)
	}
	r.issuerMu.Lock()
	if len(r.issuerMemo) < maxIssuerMemo {
		r.issuerMemo[string(c.RawIssuer)] = memo
	}
	r.issuerMu.Unlock()
	return memo
}

// result is lint l's result on c from the memoised issuer result: as
// certLintSet.execute, with CheckEffective on c itself.
func (m *issuerResult) result(l *zl.CertificateLint, c *zx509.Certificate) *zl.LintResult {
	switch {
	case m.panicked:
		return m.res
	case !m.applies:
		return &resultNA
	case !l.CheckEffective(c):
		return &resultNE
	}
	return m.res
}

// appliesAndExecute runs CheckApplies and, if it holds, Execute of the
// configured instance lint, a panic becoming Fatal as in execute.
func (s *certLintSet) appliesAndExecute(name string, lint zl.CertificateLintInterface, c *zx509.Certificate) (r issuerResult) {
	defer func() {
		if err := recover(); err != nil {
			r = issuerResult{applies: true, panicked: true, res: panicResult(name, err)}
		}
	}()
	if !lint.CheckApplies(c) {
		return issuerResult{}
	}
	return issuerResult{applies: true, res: lint.Execute(c)}
}

// panicResult is the Fatal result zlint's Execute reports for a lint that
// panicked, in its wording.
func panicResult(name string, err any) *zl.LintResult {
	return &zl.LintResult{Status: zl.Fatal, Details: fmt.Sprintf("'%s' panicked. Error: %v", name, err)}
}

// resultNA and resultNE are the results of lints that do not apply or are
// not yet effective: most lints on most certificates. They are shared, not
// allocated per lint and certificate; zlintFinding only reads results.
var (
	resultNA = zl.LintResult{Status: zl.NA}
	resultNE = zl.LintResult{Status: zl.NE}
)

// zlintCRL runs the selected zlint lints on crl.
func zlintCRL(crl *zx509.RevocationList, object string) []Finding {
	r := zlints()
	if r.err != nil {
		return []Finding{zlintUnavailable(object, r.err)}
	}
	var out []Finding
	for _, l := range r.crlLints {
		res := l.Execute(crl, r.config)
		if f, ok := zlintFinding(res, &l.LintMetadata, object, "Regenerate the CRL"); ok {
			out = append(out, f)
		}
	}
	return out
}

// zlintFinding turns a zlint result into a finding; redo says how the
// object is remade ("Reissue the certificate").
func zlintFinding(res *zl.LintResult, meta *zl.LintMetadata, object, redo string) (Finding, bool) {
	if res == nil {
		return Finding{}, false
	}
	var sev Severity
	switch res.Status {
	case zl.Error, zl.Fatal:
		sev = Error
	case zl.Warn:
		sev = Warning
	case zl.Notice:
		sev = Notice
	default: // NA, NE, Pass, Reserved
		return Finding{}, false
	}
	msg := strings.TrimSpace(meta.Description)
	if d := strings.TrimSpace(res.Details); d != "" {
		msg = strings.TrimSuffix(msg, ".") + ": " + d
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	fix := redo + " so that this check passes"
	if c := strings.TrimSuffix(strings.TrimSpace(meta.Citation), "."); c != "" {
		fix += " (see " + c + ")"
	}
	fix += "."
	return Finding{
		Severity: sev,
		ID:       meta.Name,
		Source:   "zlint",
		Object:   object,
		Message:  msg,
		Fix:      fix,
	}, true
}

func zlintUnavailable(object string, err error) Finding {
	return Finding{
		Severity: Warning,
		ID:       "pkid_zlint_unavailable",
		Source:   "pkid",
		Object:   object,
		Message:  fmt.Sprintf("The zlint checks could not run (%v), so only pkid's own checks were applied.", err),
		Fix:      "Report this as a pkid bug; the zlint registry should always build.",
	}
}

// dropDuplicates removes zlint findings whose problem a pkid finding in fs
// already reports.
func dropDuplicates(fs []Finding) []Finding {
	fired := make(map[string]bool, len(fs))
	for _, f := range fs {
		if f.Source == "pkid" {
			fired[f.ID] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Source == "zlint" && fired[zlintDuplicates[f.ID]] {
			continue
		}
		out = append(out, f)
	}
	return out
}
