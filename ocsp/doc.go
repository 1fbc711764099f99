// Package ocsp is pkid's OCSP responder: it parses OCSP requests, answers
// them from a cache of pre-signed responses, signs on demand only when it
// must, and serves the result over HTTP.
//
// It implements, of RFC 6960: §4.1 (OCSPRequest, parsed by hand so that
// several CertIDs, request extensions and signed requests are accepted),
// §4.2 (OCSPResponse / BasicOCSPResponse with responderID byKey, one
// SingleResponse per requested certificate), §4.2.2.2 (a delegated
// responder certificate per issuing CA, or the CA's own key), §4.4.1
// (nonce, with the RFC 8954 length limit of 1..32 octets) and Appendix A
// (HTTP GET and POST); of RFC 5019: §5 (pre-produced responses, served for
// nonce-less single-certificate requests) and §6 (HTTP caching headers:
// Cache-Control max-age, ETag, Last-Modified, Expires, conditional GET).
//
// Decisions where the RFCs leave a choice:
//
//   - A CertID whose issuerNameHash/issuerKeyHash (under its hash
//     algorithm) matches no served CA, including a CertID with a hash
//     algorithm other than SHA-1/256/384/512, is answered "unknown"
//     (RFC 6960 §2.2: "the request indicates an unrecognized issuer"). When
//     no CertID of a request matches a served CA, the whole response is
//     "unauthorized" (§2.3).
//   - More than Config.MaxCertIDs CertIDs in one request, a nonce longer
//     than 32 octets, trailing data, non-DER encodings, unknown critical
//     extensions and versions other than v1 are "malformedRequest": a retry
//     cannot succeed, so "tryLater" would mislead.
//   - Signed requests (optionalSignature) are accepted and the signature is
//     ignored: pkid's responses are public information.
//   - A response is signed by one key, so a request whose CertIDs name
//     several CAs is signed by the responder of the CA named most often,
//     which is not authorized for the others (RFC 6960 §4.2.2.2): openssl
//     prints every status but reports a verify failure. Ask about one CA
//     per request.
//   - The revocationReason is omitted for reason unspecified (0), as RFC
//     5280 §5.3.1 asks of CRL entries.
//   - Pre-signed responses are made lazily on the first request for a
//     (CA, serial, hash algorithm) and eagerly for the statuses passed to
//     Prepare, kept until half their validity plus a random quarter has
//     passed (then re-signed in the background), and bounded by
//     Config.MaxCached with CLOCK (second chance) eviction: a million
//     certificates never need a million responses in memory. Unknown serials are cached too. A status looked
//     up before an Invalidate or Refresh is never cached after it.
//   - Nonce requests, multi-certificate requests and cache misses are
//     signed on demand with at most Config.MaxSigners status lookups plus
//     signatures at a time (a flood of nonces or of random serials costs
//     bounded CPU and bounded store queries). When all signers
//     are busy, a single-certificate nonce request is answered with the
//     pre-signed response without the nonce (a client such as openssl then
//     warns "no nonce in response"); others wait up to Config.SignWait and
//     then get "tryLater".
//   - A nonce over 32 octets is "malformedRequest" (RFC 8954 §2.1; RFC
//     9654 later allows up to 128, which this responder does not yet).
//
// The HTTP handler cannot bound how slowly a client sends its request
// headers: use NewServer, whose *http.Server sets ReadHeaderTimeout and the
// other timeouts. Put the Responder in front of an http.ServeMux with
// Mount: ServeMux redirects paths with "//", which base64 may contain.
//
// LeanServer is the fast way to serve it: a loop of its own per HTTP/1.1
// keep-alive connection answers OCSP GET and POST (parsed strictly:
// RFC 9112 §2-3 request line and CRLF header lines, RFC 9110 §5.6.2
// tokens) with one read and one write system call, and no goroutine,
// header map or context per request, and hands every connection that sends anything else — with
// the bytes read so far — to a net/http server, which then serves it to
// its end: 404/405/413/415, HEAD, HTTP/1.0, conditional GET and every
// other path keep net/http's exact behaviour. Its timeouts are net/http's
// too (RFC 9110 §15.5.9: a POST body that does not arrive within
// ReadTimeout is answered 408 Request Timeout, by both), without a timer
// reset per request.
//
// Wiring it into a server: New with a Lookup that reads the store (serial
// as upper-case hex, status, revocation time and reason); Prepare per CA at
// start; Refresh(caID, serial) for every revoke/release the change feed
// reports; go Run(ctx); SetIssuer with a new responder certificate when
// NeedsRenewal says so; Mount(mux) as the HTTP handler, NewServer for the
// timeouts and NewLeanServer in front of it; a Metrics adapter to
// Prometheus counters.
//
// The package must not import pkid's ca or store packages: the server
// adapts the store to Lookup, and issues responder certificates (see
// NeedsRenewal) with the ca package.
package ocsp
