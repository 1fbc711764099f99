// Package ldap is the LDAPv3 wire protocol (RFC 4511): the LDAPMessage
// envelope and every protocol operation as Go types, strict BER decoding of
// requests and responses, encoding of both, search filters in BER and in
// the RFC 4515 string form, attribute descriptions (RFC 4512 §2.5), LDAP
// URLs (RFC 4516, for CRL distribution points and referrals), and the
// values of the controls and extended operations pkid speaks: paged
// results (RFC 2696), Password Modify (RFC 3062), WhoAmI (RFC 4532),
// StartTLS (RFC 4511 §4.14) and the Notice of Disconnection (§4.4.1).
//
// Client (client.go) is a small synchronous client over these types: Dial
// for ldap:// (optionally StartTLS) and ldaps://, simple and SASL EXTERNAL
// binds (RFC 4513 §5.1, §5.2.3), Search with a bound on the entries
// returned, Add, Modify and Delete; every exchange has a deadline and
// honours context cancellation, and failed results are *Error values.
//
// Decoding never panics on any input and never allocates from a length the
// peer claims: ReadMessage frames a message off a stream within a size
// limit (1 MiB by default), DecodeMessage decodes it in place (within
// MaxDepth levels of nesting and MaxFilterElements filter items), so byte
// values ([]byte fields) alias the message buffer and must be treated as
// read-only; strings (DNs, OIDs, attribute descriptions) are copies. A
// message that cannot be decoded yields a *ProtocolError carrying the
// result code to send and whether the connection must be dropped with a
// Notice of Disconnection (malformed BER, as slapd does) or the operation
// answered with an error (well-formed but invalid values such as an unknown
// search scope or authentication choice).
//
// Server is the protocol frontend (slapd's split between frontend and
// backends): it accepts LDAP (with StartTLS, RFC 4511 §4.14, RFC 4513 §3)
// and LDAPS connections, reads requests within the size limit, runs each
// operation on the connection's reader goroutine (no switch per request)
// and moves the reading to a new goroutine when one runs over 2 ms, so
// several operations per connection run concurrently (bounded), answers
// Abandon (§4.11) and Unbind (§4.3), sends a Notice of Disconnection on
// protocol errors, answers Bind (simple and anonymous, RFC 4513 §5.1; SASL
// EXTERNAL after TLS with a client certificate, §5.2.3), WhoAmI (RFC 4532),
// Password Modify (RFC 3062) and paged results (RFC 2696, cookies bound to
// the connection), refuses unknown critical controls (§4.1.11), and hands
// everything else to a Backend. One file per protocol step: server.go
// (listeners, limits, shutdown), conn.go (reader, dispatch, writes),
// inline.go (handing the reading over), opctx.go (an operation's context,
// with no timer until something waits on it), bindop.go, searchop.go,
// extop.go. Limits: connections, operations per
// connection, idle, read, write and operation timeouts; a client that does
// not read its results is disconnected when a write times out.
//
// SASL EXTERNAL verifies the client's chain at the bind, not in the TLS
// handshake (run TLS with tls.RequestClientCert), so that an expired,
// untrusted or serverAuth-only certificate is answered with
// invalidCredentials naming its serial and the reason: against
// ServerConfig.ClientCAs (chaincache.go remembers verified paths), or by
// a ChainVerifyingBackend with trust anchors of its own.
//
// Distinguished names stay strings here; parsing them (RFC 4514) belongs to
// package dn and the directory. The directory itself lives in package
// directory (directory.LDAPBackend adapts it to Backend); this package
// must not import the directory, store or server packages.
package ldap
