package doctor

import (
	"errors"
	"testing"
)

// TestExplainBlogAlert80 reproduces the report of "Debugging TLS – an
// easier way": an EC client certificate, a TLS 1.2 server on z/OS asking
// for RSA or DSA certificates, suite 0035 (AES256-SHA), and alert 80 after
// our certificate. No local server sends alert 80 for this, so the report
// is built by hand from the blog's s_client output.
func TestExplainBlogAlert80(t *testing.T) {
	suite := suiteOf(0x0035)
	r := &Report{
		Addr: "10.1.1.2:1389", Connected: true,
		err:      errors.New("remote error: tls: internal error"),
		Alert:    &Alert{Code: 80, Name: "internal_error", Stage: "after we sent our certificate"},
		sentCert: true, requested: true, serverHello: true,
		Suite: &suite,
		CertificateRequest: &CertificateRequest{
			AcceptableCAs:    []string{"CN=COLIN4Certification Authority,OU=TEST,O=COLIN", "CN=SSCA256,OU=CA,O=SSS,C=GB"},
			CertificateTypes: []string{"RSA sign", "DSA sign"},
		},
		ClientCertificate: &ClientCertificate{
			Certificate:         Certificate{Subject: "CN=ecec,O=cpwebuser,C=GB", Issuer: "CN=SSCA256,OU=CA,O=SSS,C=GB", KeyType: "EC"},
			Sent:                true,
			MatchesAcceptableCA: true,
		},
	}
	es := Explain(r)
	if len(es) != 1 || es[0].ID != "client_key_type_mismatch" {
		t.Fatalf("got %+v", es)
	}
	mustContain(t, "observed", es[0].Observed, "alert 80 internal_error", "RSA sign, DSA sign", "0035 TLS_RSA_WITH_AES_256_CBC_SHA")
	mustContain(t, "cause", es[0].Cause, "EC key", "434")
	mustContain(t, "fix", es[0].Fix, "RSA client certificate")
}
