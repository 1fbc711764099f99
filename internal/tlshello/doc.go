// Package tlshello reads the ClientHello of a TLS handshake that
// crypto/tls is about to run, and uses it for one decision crypto/tls
// leaves to no callback: the key exchange of a handshake that will be
// resumed.
//
// It owns three things:
//
//   - Conn, a net.Conn wrapper that records the bytes of the first
//     handshake message read through it (bounded: MaxRecorded) so that
//     tls.Config.GetConfigForClient can read them back from
//     ClientHelloInfo.Conn;
//   - Parse, a strict parser of those bytes: TLS records (RFC 8446 §5.1)
//     carrying one ClientHello (§4.1.2) and the extensions a resumption
//     decision needs: supported_versions (§4.2.1), key_share (§4.2.8),
//     psk_key_exchange_modes (§4.2.9) and pre_shared_key (§4.2.11);
//   - Resumer, a GetConfigForClient that answers a ClientHello whose
//     session ticket crypto/tls will accept with a configuration limited
//     to classical (EC)DHE groups, and every other ClientHello with the
//     listener's own configuration (hybrid post-quantum X25519MLKEM768
//     first, crypto/tls's default). See Resumer for why that keeps every
//     session post-quantum protected.
//
// The package is internal: it mirrors the resumption conditions of the
// crypto/tls it is built with (handshake_server_tls13.go,
// checkForResumption) and its tests pin that mirror to the real thing.
package tlshello
