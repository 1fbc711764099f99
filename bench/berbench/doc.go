// Package berbench compares pkid's LDAP codec with github.com/go-asn1-ber/asn1-ber,
// the BER library under go-ldap, glauth and most Go LDAP servers. It is a
// separate module so that dependency never enters pkid's go.mod; run
// ./compare.sh here for the ratios.
package berbench
