package doctor

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/pkid/pkid/internal/tlsregistry"
	"github.com/pkid/pkid/lint"
	"github.com/pkid/pkid/revocation"
)

// Explanation is one problem in plain words.
type Explanation struct {
	// ID names the kind of problem, stable for scripts and tests:
	// no_shared_cipher, key_type_mismatch, client_certificate_required,
	// client_certificate_rejected, client_key_type_mismatch, untrusted_chain,
	// expired, not_yet_valid, hostname_mismatch, verification, revoked,
	// revocation_unreachable, revocation_unknown, ca_without_crlsign,
	// missing_aki, protocol_version, not_tls, timeout, connection_refused,
	// connection_failed, closed, starttls, alert, handshake.
	ID string `json:"id"`
	// Observed is what the probe saw.
	Observed string `json:"observed"`
	// Cause is the likely reason.
	Cause string `json:"cause"`
	// Fix is what to change.
	Fix string `json:"fix"`
}

// String renders the explanation as three labelled lines.
func (e Explanation) String() string {
	return "Observed: " + e.Observed + "\nCause:    " + e.Cause + "\nFix:      " + e.Fix
}

// ExplainError explains an error from a TLS connection made elsewhere (a
// crypto/tls client or server, an LDAP client): alerts, timeouts, refused
// connections, verification and revocation errors.
func ExplainError(err error) []Explanation {
	if err == nil {
		return nil
	}
	r := &Report{err: err, Error: err.Error(), Connected: true}
	if code, ok := remoteAlert(err); ok {
		r.Alert = &Alert{Code: code, Name: alertName(code), Stage: "during the handshake"}
	}
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	var he x509.HostnameError
	if errors.As(err, &ua) || errors.As(err, &inv) || errors.As(err, &he) {
		r.verifyErr = err
		r.err = nil
	}
	var re *revocation.RevokedError
	var ue *revocation.UnknownError
	if errors.As(err, &re) || errors.As(err, &ue) {
		r.revErr = err
		r.err = nil
	}
	if isConnectError(err) {
		r.Connected = false
	}
	return Explain(r)
}

// Explain lists every problem in r, most fundamental first. An empty list
// means the handshake and the verification succeeded.
func Explain(r *Report) []Explanation {
	if r == nil {
		return nil
	}
	var out []Explanation
	add := func(id, observed, cause, fix string) {
		out = append(out, Explanation{ID: id, Observed: observed, Cause: cause, Fix: fix})
	}
	if r.err != nil {
		explainFailure(r, add)
	}
	explainVerification(r, add)
	explainRevocation(r, add)
	explainLint(r, add)
	return out
}

type addFunc func(id, observed, cause, fix string)

func isConnectError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

func explainFailure(r *Report, add addFunc) {
	err := r.err
	switch {
	case !r.Connected && errors.Is(err, syscall.ECONNREFUSED):
		add("connection_refused",
			fmt.Sprintf("nothing accepted the TCP connection to %s (connection refused)", r.Addr),
			"no server listens on that port, or a firewall rejects the connection",
			"check the host and port, that the server runs (ss -ltn on the server), and any firewall in between")
		return
	case !r.Connected && isConnectError(err):
		add("connection_failed", "the TCP connection to "+r.Addr+" failed: "+err.Error(),
			"the host is unreachable, the name does not resolve, or a firewall drops the connection",
			"check the address and the network path (ping, traceroute, firewall rules)")
		return
	case !r.Connected && r.StartTLS != "":
		add("starttls", "the "+r.StartTLS+" STARTTLS exchange failed: "+err.Error(),
			"the server does not speak "+r.StartTLS+" on this port, does not offer STARTTLS, or has no certificate configured",
			"check the port and that STARTTLS is enabled on the server; for a port that starts with TLS, drop --starttls")
		return
	case !r.Connected:
		add("connection_failed", "the connection to "+r.Addr+" failed: "+err.Error(),
			"the server could not be reached in time", "check the address, the network path and --timeout")
		return
	}
	if r.NotTLS != "" {
		if r.NotTLS == "HTTP" {
			add("not_tls", "the server answered our ClientHello in plain HTTP: this is HTTP, not TLS",
				"the port serves unencrypted HTTP (or an HTTP error page from a proxy), not TLS",
				"probe the HTTPS port instead (usually 443 or 8443), or enable TLS on this listener")
			return
		}
		add("not_tls", "the server answered our ClientHello with "+r.NotTLS+", not a TLS record",
			"the port speaks another protocol, or needs a plaintext STARTTLS exchange first",
			"probe the TLS port, or pass --starttls ldap|smtp|imap|postgres for a protocol that upgrades")
		return
	}
	if r.Alert != nil {
		explainAlert(r, add)
		return
	}
	if errors.Is(err, errClosedAfterHandshake) {
		explainClosedAfter(r, add)
		return
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		add("timeout", "the server accepted the TCP connection but did not complete the TLS handshake in time: "+err.Error(),
			"the server waits for something else (a plaintext protocol that needs STARTTLS), is stalled or overloaded, or a middlebox swallows the handshake",
			"try --starttls for LDAP/SMTP/IMAP/PostgreSQL ports, check the server's load and logs, or raise --timeout")
	case isNoSharedError(err):
		explainNoShared(r, add, "crypto/tls refused the server's choice: "+err.Error())
	case isVersionError(err):
		explainVersion(r, add, "the version negotiation failed: "+err.Error())
	case r.ClientCertificate != nil && r.ClientCertificate.Unsuitable != "" && strings.Contains(err.Error(), "certificate"):
		explainClientKeyType(r, add, "our client could not use --cert for the server's request: "+err.Error())
	case errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset"):
		add("closed", "the server closed the connection without an alert: "+err.Error(),
			"it is not a TLS server, expects STARTTLS first, or silently rejects our ClientHello (some stacks do so for an unknown SNI name or no shared version or suite)",
			"check the server's log for the reason; try --starttls, --servername, --tls1.2 or --tls1.3")
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake") || strings.Contains(err.Error(), "oversized record"):
		add("not_tls", "the server's answer is not a TLS record: "+err.Error(),
			"the port speaks another protocol or sent garbage", "probe the TLS port of the service, or use --starttls")
	default:
		add("handshake", "the TLS handshake failed: "+err.Error(),
			"see the error; the server's log usually names the reason",
			"compare the report's offer with the server's configuration")
	}
}

// explainClosedAfter explains a server that hung up right after a TLS 1.3
// handshake without an alert: usually its verdict on our certificate.
func explainClosedAfter(r *Report, add addFunc) {
	obs := "the server closed the connection right after the handshake, without an alert or a session ticket"
	cc := r.ClientCertificate
	switch {
	case r.requested && !r.sentCert:
		explainCertRequired(r, add, obs)
	case r.sentCert && cc != nil:
		cause := "the server rejected our certificate (" + cc.Certificate.Subject + ", issued by " + cc.Certificate.Issuer + ") without saying why"
		if !cc.MatchesAcceptableCA {
			cause += "; its issuer is not among the CAs the server accepts: " + caList(r)
		}
		add("client_certificate_rejected", obs, cause,
			"check the server's log; use a certificate issued by one of the acceptable CAs, with clientAuth and digitalSignature")
	default:
		add("closed", obs, "the server dropped the connection after TLS was set up: an access rule, a connection limit, or a crash",
			"check the server's log for this connection")
	}
}

func explainAlert(r *Report, add addFunc) {
	a := r.Alert
	obs := fmt.Sprintf("the server sent alert %d %s %s", a.Code, a.Name, a.Stage)
	cc := r.ClientCertificate
	switch {
	case a.Code == 70:
		explainVersion(r, add, obs)
	case (a.Code == 40 || a.Code == 71) && !r.requested && !r.serverHello:
		explainNoShared(r, add, obs)
	case (a.Code == 40 || a.Code == 116) && r.requested && !r.sentCert:
		explainCertRequired(r, add, obs)
	case r.sentCert && cc != nil:
		explainClientRejected(r, add, obs)
	case a.Code == 112:
		add("alert", obs, "the server has no certificate for the name we sent in SNI ("+r.ServerName+")",
			"pass the name the server is configured for with --servername, or add this name to the server's configuration")
	case a.Code == 120:
		add("alert", obs, "the server shares none of the application protocols (ALPN) we offered",
			"offer the protocol the server expects, or configure it on the server")
	default:
		meaning := "the server rejected the handshake"
		if al, ok := tlsregistry.AlertByCode(a.Code); ok {
			meaning = al.Meaning
		}
		add("alert", obs, meaning, "check the server's log for the reason it gives for this alert")
	}
}

func suiteList(ss []Suite, n int) string {
	var parts []string
	for i, s := range ss {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(ss)-n))
			break
		}
		name := s.OpenSSL
		if name == "" {
			name = s.IANA
		}
		parts = append(parts, s.Hex+" "+name)
	}
	return strings.Join(parts, ", ")
}

func explainNoShared(r *Report, add addFunc, obs string) {
	offerGroups := ""
	if len(r.Offer.Suites) > 0 {
		obs += fmt.Sprintf("; we offered %s with %d suites (%s)",
			strings.Join(r.Offer.Versions, ", "), len(r.Offer.Suites), suiteList(r.Offer.Suites, 6))
		offerGroups = fmt.Sprintf(", groups %s and signature algorithms %s",
			strings.Join(r.Offer.Groups, ", "), strings.Join(r.Offer.SigAlgs, ":"))
	}
	var broad, tls13 *Retry
	for i := range r.Retries {
		rt := &r.Retries[i]
		switch {
		case strings.HasPrefix(rt.Purpose, "every cipher suite"):
			broad = rt
		case rt.Purpose == "TLS 1.3":
			tls13 = rt
		}
	}
	switch {
	case broad != nil && broad.OK:
		add("no_shared_cipher", obs+"; offered every suite crypto/tls implements, the server chose "+broad.Suite.String(),
			"the server accepts only legacy suites (RSA key exchange, CBC or 3DES) that are left out of a modern client's default offer",
			fmt.Sprintf("configure the server with ECDHE suites and AEAD ciphers (e.g. C02B/C02F, ECDHE-*-AES128-GCM-SHA256); until then a client must explicitly enable %s", broad.Suite.Hex))
	case tls13 != nil && tls13.OK && tls13.ServerKey == "EC":
		add("key_type_mismatch", obs+"; over TLS 1.3 the server presents an EC certificate, yet in TLS 1.2 it accepted none of our ECDHE-ECDSA suites",
			"the server is probably configured with only RSA suites (such as 0035 TLS_RSA_WITH_AES_256_CBC_SHA, OpenSSL AES256-SHA), which cannot be used with an EC key; z/OS System SSL reports this as reason 434 \"Certificate key is not compatible with cipher suite\" and may send alert 80",
			"add ECDHE-ECDSA suites (C02B, C02C) to the server's cipher list (GSK_V3_CIPHER_SPECS_EXPANDED on z/OS), or give the server an RSA certificate")
	case tls13 != nil && tls13.OK:
		add("no_shared_cipher", obs+"; over TLS 1.3 the handshake works ("+tls13.Suite.String()+")",
			"the server's TLS 1.2 cipher list shares nothing with ours, or does not fit its "+tls13.ServerKey+" certificate",
			"use TLS 1.3 (drop --tls1.2), or add ECDHE suites matching the certificate's key type to the server's TLS 1.2 list")
	default:
		add("no_shared_cipher", obs+offerGroups,
			"no cipher suite, group or signature algorithm in common; or the server's suites do not fit its certificate's key type (an EC certificate with only RSA key-exchange suites such as 0035 AES256-SHA fails this way, GSKit reason 434)",
			"compare the server's cipher list with our offer (pkid probe --scan enumerates what it accepts) and make sure it holds suites for its certificate's key type")
	}
}

func explainVersion(r *Report, add addFunc, obs string) {
	if len(r.Offer.Versions) > 0 {
		obs += "; we offered " + strings.Join(r.Offer.Versions, ", ")
	}
	for _, rt := range r.Retries {
		if strings.HasPrefix(rt.Purpose, "every version") {
			if rt.OK {
				add("protocol_version", obs+"; offered TLS 1.0–1.3, the server chose "+rt.Version,
					"the server does not support the version(s) we offered",
					fmt.Sprintf("allow %s on the client (drop --tls1.2/--tls1.3), or enable the offered version on the server", rt.Version))
				return
			}
		}
	}
	add("protocol_version", obs, "the server supports none of the protocol versions we offered",
		"enable TLS 1.2 and TLS 1.3 on the server, or offer the version it speaks (--tls1.2 or --tls1.3)")
}

func caList(r *Report) string {
	if r.CertificateRequest == nil || len(r.CertificateRequest.AcceptableCAs) == 0 {
		return "any CA (the server named none)"
	}
	l := r.CertificateRequest.AcceptableCAs
	if len(l) > 6 {
		return strings.Join(l[:6], "; ") + fmt.Sprintf("; and %d more", len(l)-6)
	}
	return strings.Join(l, "; ")
}

func explainCertRequired(r *Report, add addFunc, obs string) {
	fix := "pass --cert and --key with a client certificate issued by one of: " + caList(r)
	if cc := r.ClientCertificate; cc != nil && !cc.MatchesAcceptableCA {
		fix = "our --cert (issued by " + cc.Certificate.Issuer + ") does not fit; use one issued by one of: " + caList(r)
	}
	add("client_certificate_required", obs+"; the server asked for a client certificate and we sent none",
		"the server requires a client certificate (OpenSSL -Verify, nginx ssl_verify_client on, slapd TLSVerifyClient demand)",
		fix)
}

func explainClientRejected(r *Report, add addFunc, obs string) {
	cc := r.ClientCertificate
	obs += " (" + cc.Certificate.Subject + ", issued by " + cc.Certificate.Issuer + ")"
	var lintMsgs, lintFixes []string
	for _, f := range cc.Certificate.Lint {
		if f.Severity.Rank() >= lint.Warning.Rank() && f.Source == "pkid" {
			lintMsgs = append(lintMsgs, f.Message)
			if f.Fix != "" {
				lintFixes = append(lintFixes, f.Fix)
			}
		}
	}
	types := []string(nil)
	if r.CertificateRequest != nil {
		types = r.CertificateRequest.CertificateTypes
	}
	ecNotAccepted := cc.Certificate.KeyType == "EC" && len(types) > 0 && !slices.Contains(types, "ECDSA sign")
	rsaKX := r.Suite != nil && r.Suite.KeyExchange == "RSA" && cc.Certificate.KeyType == "EC"
	switch {
	case r.Alert.Code == 48:
		cause := "the server does not trust the CA that issued our certificate"
		if !cc.MatchesAcceptableCA {
			cause += "; it accepts certificates from: " + caList(r)
		} else {
			cause += " (its issuer is among the acceptable CA names, so the server probably misses an intermediate: send the whole chain in --cert)"
		}
		add("client_certificate_rejected", obs, cause,
			"use a certificate issued by a CA the server trusts, or add our issuing CA to the server's trust store")
	case r.Alert.Code == 45:
		add("client_certificate_rejected", obs, fmt.Sprintf("our certificate is outside its validity period (%s to %s)", cc.Certificate.NotBefore.Format("2006-01-02"), cc.Certificate.NotAfter.Format("2006-01-02")),
			"renew the client certificate (pkid issue --profile client), or check the server's clock")
	case r.Alert.Code == 44:
		add("client_certificate_rejected", obs, "the server found our certificate revoked", "issue a new client certificate")
	case ecNotAccepted || (r.Alert.Code == 80 && rsaKX):
		add("client_key_type_mismatch", obs+fmt.Sprintf("; the server's CertificateRequest allows certificate types %s, the negotiated suite is %s", strings.Join(types, ", "), suiteName(r)),
			"our certificate has an EC key but the server accepts only RSA (or DSA) client certificates with this configuration; z/OS System SSL says \"Client certificate key type 13 not allowed\" (reason 434) and sends alert 80",
			"use an RSA client certificate, or enable ECDHE-ECDSA suites and ECDSA signature algorithms on the server")
	case !cc.MatchesAcceptableCA:
		add("client_certificate_rejected", obs, "our certificate's issuer is not among the CAs the server accepts: "+caList(r),
			"use a certificate issued by one of those CAs")
	case len(lintMsgs) > 0:
		add("client_certificate_rejected", obs, "our certificate has problems strict stacks refuse: "+strings.Join(lintMsgs, "; "),
			strings.Join(lintFixes, " "))
	default:
		meaning := "the server rejected our certificate"
		if al, ok := tlsregistry.AlertByCode(r.Alert.Code); ok {
			meaning = al.Meaning
		}
		add("client_certificate_rejected", obs, meaning+"; lint finds nothing wrong with it, so check the server's log (key usage, EKU clientAuth, revocation, DN mapping)",
			"check the server's log for the reason it gives")
	}
}

func suiteName(r *Report) string {
	if r.Suite == nil {
		return "not yet known"
	}
	return r.Suite.String()
}

func explainClientKeyType(r *Report, add addFunc, obs string) {
	cc := r.ClientCertificate
	var types, algs string
	if cr := r.CertificateRequest; cr != nil {
		types = strings.Join(cr.CertificateTypes, ", ")
		algs = strings.Join(cr.SignatureAlgorithms, ", ")
	}
	add("client_key_type_mismatch", fmt.Sprintf("%s; our certificate has a %s key; the server accepts certificate types [%s] and signature algorithms [%s]", obs, cc.Certificate.KeyType, types, algs),
		"the server's CertificateRequest does not allow our key type (the blog's case: an EC certificate where only RSA is accepted, GSKit reason 434, alert 80): "+cc.Unsuitable,
		"use a client certificate whose key type the server accepts, or enable that key type's signature algorithms on the server")
}

func explainVerification(r *Report, add addFunc) {
	v := &r.Verification
	if r.verifyErr == nil || len(r.Chain) == 0 && v.Hostname == "" {
		if r.verifyErr != nil {
			explainBareVerifyError(r, add)
		}
		return
	}
	for _, s := range v.Expired {
		add("expired", "a certificate of the server's chain has expired: "+s,
			"the server presents an outdated certificate",
			"renew the certificate and reload the server (pkid issue ...); if it looks valid, check this machine's clock")
	}
	for _, s := range v.NotYetValid {
		add("not_yet_valid", "a certificate of the server's chain is not valid yet: "+s,
			"the certificate was issued with a future start date, or this machine's (or the CA's) clock is wrong",
			"check the clocks (NTP), or reissue the certificate")
	}
	var ua x509.UnknownAuthorityError
	if errors.As(r.verifyErr, &ua) {
		obs := "the chain does not lead to a trusted root"
		if v.MissingIssuer != "" {
			obs += "; missing: " + v.MissingIssuer
		}
		obs += fmt.Sprintf("; the server sent %d certificate(s) after its own", v.IntermediatesSent)
		cause := "the issuing CA is not among the trusted roots (--ca or the system store)"
		fix := "pass the CA's certificate with --ca (or install it in the system trust store)"
		if v.IntermediatesSent == 0 && !strings.Contains(v.MissingIssuer, "self-signed") {
			cause = "the server does not send its intermediate CA certificate, or its root is not trusted"
			fix = "configure the server to send the full chain (leaf + intermediates: chain.pem), and trust the root with --ca"
		}
		if f := v.AIA; f != nil {
			switch {
			case f.CompletesChain:
				obs += "; the caIssuers URL " + f.URL + " gives " + f.Subject + ", which completes the chain"
				cause = "the server does not send its intermediate CA certificate; browsers fetch it through AIA, but OpenSSL, Go, Java and GSKit clients do not"
				fix = "configure the server to send the intermediate with its certificate (chain.pem)"
			case f.Error != "":
				obs += "; fetching the caIssuers URL " + f.URL + " failed: " + f.Error
			}
		}
		add("untrusted_chain", obs, cause, fix)
	} else if !v.ChainOK && v.Error != "" && len(v.Expired) == 0 && len(v.NotYetValid) == 0 {
		add("verification", "the chain does not verify: "+v.Error,
			"a certificate of the chain is not usable for a TLS server (key usage, extended key usage, constraints) or is malformed",
			"reissue the server certificate with the server profile (pkid issue --profile server)")
	}
	if !v.HostnameOK && len(r.Chain) > 0 {
		sans := strings.Join(r.Chain[0].SANs, ", ")
		san := "DNS:" + v.Hostname
		if net.ParseIP(v.Hostname) != nil {
			san = "IP:" + v.Hostname
		}
		if sans == "" {
			add("hostname_mismatch", "the certificate does not cover the name "+v.Hostname+": it has no subjectAltName, only the subject "+r.Chain[0].Subject,
				"modern clients (Go, Chrome, OpenSSL with hostname checks, Java) ignore the subject CN and match names only against subjectAltName (RFC 6125)",
				"reissue the certificate with --san "+san)
		} else {
			add("hostname_mismatch", "the certificate does not cover the name "+v.Hostname+"; its SANs are "+sans,
				"we connected under a name the certificate was not issued for, or the server presents the wrong certificate (SNI)",
				"connect with a name among the SANs (--servername), or reissue the certificate with --san "+san)
		}
	}
}

// explainBareVerifyError handles a verification error without a report
// (ExplainError).
func explainBareVerifyError(r *Report, add addFunc) {
	err := r.verifyErr
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	var he x509.HostnameError
	switch {
	case errors.As(err, &ua):
		add("untrusted_chain", err.Error(), "the chain does not lead to a trusted root: the issuing CA is not trusted or an intermediate is missing",
			"send the full chain from the server and trust the root (--ca)")
	case errors.As(err, &he):
		add("hostname_mismatch", err.Error(), "the certificate was not issued for this name", "connect with a name the certificate covers, or reissue it with that SAN")
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		add("expired", err.Error(), "a certificate is outside its validity period", "renew it, or check the clock")
	default:
		add("verification", err.Error(), "the chain does not verify", "see the error")
	}
}

func explainRevocation(r *Report, add addFunc) {
	if st := r.OCSPStaple; st != nil && st.Status == "revoked" {
		add("revoked", fmt.Sprintf("the server staples an OCSP response saying its certificate is revoked (%s, %s)", st.Reason, st.RevokedAt.Format("2006-01-02 15:04 MST")),
			"the certificate was revoked by its CA", "install a newly issued certificate on the server")
	}
	if r.revErr == nil {
		return
	}
	var re *revocation.RevokedError
	if errors.As(r.revErr, &re) {
		if r.OCSPStaple != nil && r.OCSPStaple.Status == "revoked" && re.Source == "the stapled OCSP response" {
			return
		}
		add("revoked", fmt.Sprintf("%s is revoked: reason %s, since %s, according to %s", re.Certificate.Subject, re.Reason, re.RevokedAt.UTC().Format("2006-01-02 15:04 MST"), re.Source),
			"its CA revoked it", "issue a new certificate and install it on the server (and find out why it was revoked: "+re.Reason.String()+")")
		return
	}
	var ue *revocation.UnknownError
	if errors.As(r.revErr, &ue) {
		var srcs []string
		for _, e := range ue.Errs {
			srcs = append(srcs, e.Error())
		}
		if errors.Is(r.revErr, revocation.ErrUnavailable) {
			add("revocation_unreachable", fmt.Sprintf("the revocation status of %s is unknown: %s", ue.Certificate.Subject, strings.Join(srcs, "; ")),
				"the CRL distribution point or OCSP responder named in the certificate cannot be reached from here (down, wrong URL, firewall)",
				"make the URL reachable (pkid serve publishes CRLs and OCSP), or fix the URL in newly issued certificates")
			return
		}
		if errors.Is(r.revErr, revocation.ErrNoSource) && len(ue.Errs) == 1 {
			return // a certificate that names no source: reported, not a failure
		}
		add("revocation_unknown", fmt.Sprintf("the revocation status of %s is unknown: %s", ue.Certificate.Subject, strings.Join(srcs, "; ")),
			"the CRL or OCSP response could not be used (signature, freshness, scope)", "see the per-source errors; republish the CRL (pkid crl) or fix the responder")
		return
	}
	add("revocation_unknown", "the revocation check failed: "+r.revErr.Error(), "see the error", "see the error")
}

// explainLint raises the lint findings that break real stacks.
func explainLint(r *Report, add addFunc) {
	for _, c := range r.Chain {
		for _, f := range c.Lint {
			switch f.ID {
			case "pkid_ca_without_crlsign":
				add("ca_without_crlsign", "the issuing CA "+c.Subject+" has a key usage without cRLSign",
					"CRLs it signs are rejected by RFC 5280 §6.3 checkers (GSKit: \"crlSign bit is not set in KeyUsage\"), so revocation checks fail",
					f.Fix)
			case "pkid_missing_aki":
				add("missing_aki", c.Subject+" has no authority key identifier",
					"z/OS System SSL and other strict stacks answer with alert 42 bad_certificate", f.Fix)
			}
		}
	}
}
