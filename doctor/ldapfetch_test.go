package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/peer"
	"github.com/pkid/pkid/revocation"
)

// TestLDAPFetcherSlapd publishes a CRL in slapd (RFC 4523
// certificateRevocationList;binary), fetches it through an ldap:// URL, and
// probes a server whose certificate is revoked on it.
func TestLDAPFetcherSlapd(t *testing.T) {
	slapd := peer.Need(t, "slapd", "slapd")
	slapadd := peer.Need(t, "slapadd", "slapd")
	p := newTestPKI(t)
	serial := big.NewInt(424242)
	revokedAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	crl := makeCRL(t, p.inter, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: revokedAt, ReasonCode: 5})

	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "db"), 0o700)
	conf := filepath.Join(dir, "slapd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`include /etc/ldap/schema/core.schema
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "o=test"
rootdn "cn=admin,o=test"
directory %[1]s/db
access to * by * read
`, dir)), 0o644)
	ldif := filepath.Join(dir, "crl.ldif")
	os.WriteFile(ldif, []byte("dn: o=test\nobjectClass: organization\no: test\n\n"+
		"dn: cn=Test Issuing CA,o=test\nobjectClass: cRLDistributionPoint\ncn: Test Issuing CA\n"+
		"certificateRevocationList;binary:: "+base64.StdEncoding.EncodeToString(crl)+"\n"), 0o644)
	if out, err := exec.Command(slapadd, "-q", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	ldapAddr := startPeer(t, slapd, "", "-f", conf, "-h", "ldap://127.0.0.1:{port}/", "-d", "0")
	url := "ldap://" + ldapAddr + "/cn=Test%20Issuing%20CA,o=test?certificateRevocationList;binary"

	f := &LDAPFetcher{}
	got, err := f.Fetch(context.Background(), url)
	if err != nil || !bytes.Equal(got, crl) {
		t.Fatalf("Fetch: %v (%d bytes, want %d)", err, len(got), len(crl))
	}
	if _, err := f.Fetch(context.Background(), "ldap://"+ldapAddr+"/cn=nobody,o=test?certificateRevocationList;binary"); err == nil || !strings.Contains(err.Error(), "noSuchObject") {
		t.Errorf("missing entry: %v", err)
	}

	lt := leafTemplate("localhost")
	lt.SerialNumber = serial
	lt.CRLDistributionPoints = []string{url}
	leaf := issue(t, p.dir, "ldapcdp", lt, newKey(t, "ec"), p.inter)
	addr := sServer(t, "-cert", leaf.certFile, "-key", leaf.keyFile, "-cert_chain", p.inter.certFile)
	checker := revocation.New(revocation.Config{LeafOnly: true, Fetchers: map[string]revocation.Fetcher{"ldap": f}})
	r := probe(t, Options{Addr: addr, ServerName: "localhost", RootCAs: p.rootPool, Revocation: checker})
	e := findProblem(t, r, "revoked")
	mustContain(t, "observed", e.Observed, "cessationOfOperation", url)
}
