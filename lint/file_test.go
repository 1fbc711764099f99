package lint

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/pkid/pkid/internal/testkey"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestFile(t *testing.T) {
	ca := newCA(t)
	key := testkey.New(t, "p256")
	leaf := sign(t, serverTemplate(t, key), key, ca)
	crl := goodCRL(t, ca)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	noCRLSignTmpl := caTemplate(t, "CA without cRLSign")
	noCRLSignTmpl.KeyUsage = x509.KeyUsageCertSign
	badCA := sign(t, noCRLSignTmpl, testkey.New(t, "p256"), nil)
	badCRL := makeCRL(t, badCA, 1, nil, testNow.Add(-time.Hour), testNow.Add(24*time.Hour), crypto.SHA256)

	mixed := bytes.Join([][]byte{
		[]byte("comment lines before PEM are ignored\n"),
		pemBlock("CERTIFICATE", leaf.der),
		pemBlock("PRIVATE KEY", keyDER),
		pemBlock("CERTIFICATE", ca.der),
		pemBlock("X509 CRL", crl),
	}, nil)

	cases := []struct {
		name      string
		data      []byte
		kinds     []Kind
		wantIDs   []string
		wantErr   bool
		cleanOnly bool
	}{
		{name: "mixed PEM", data: mixed, kinds: []Kind{KindCertificate, KindCertificate, KindCRL}, cleanOnly: true},
		{name: "DER certificate", data: leaf.der, kinds: []Kind{KindCertificate}, cleanOnly: true},
		{name: "DER CRL", data: crl, kinds: []Kind{KindCRL}, cleanOnly: true},
		{
			name:    "CA without cRLSign next to its CRL",
			data:    append(pemBlock("CERTIFICATE", badCA.der), pemBlock("X509 CRL", badCRL)...),
			kinds:   []Kind{KindCertificate, KindCRL},
			wantIDs: []string{idCAWithoutCRLSign, idCRLIssuerWithoutCRLSign, idCRLWithoutNumber},
		},
		{
			name:    "broken certificate block",
			data:    pemBlock("CERTIFICATE", []byte("junk")),
			kinds:   []Kind{KindCertificate},
			wantIDs: []string{idUnparsableCertificate},
		},
		{name: "garbage", data: []byte("hello, I am not a certificate"), wantErr: true},
		{name: "empty", data: nil, wantErr: true},
		{name: "key only", data: pemBlock("PRIVATE KEY", keyDER), wantErr: true},
		{name: "truncated DER", data: leaf.der[:len(leaf.der)/2], wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := Reports(c.data, testOpts())
			fs, ferr := File(c.data, testOpts())
			if c.wantErr {
				if err == nil || ferr == nil || !errors.Is(err, ErrNoObjects) {
					t.Fatalf("want ErrNoObjects, got %v / %v", err, ferr)
				}
				return
			}
			if err != nil || ferr != nil {
				t.Fatalf("unexpected error %v / %v", err, ferr)
			}
			if len(rs) != len(c.kinds) {
				t.Fatalf("got %d objects, want %d", len(rs), len(c.kinds))
			}
			n := 0
			for i, r := range rs {
				if r.Kind != c.kinds[i] {
					t.Errorf("object %d: kind %s, want %s", i, r.Kind, c.kinds[i])
				}
				if r.Object == "" || r.Object == string(r.Kind) {
					t.Errorf("object %d has no name: %q", i, r.Object)
				}
				n += len(r.Findings)
			}
			if n != len(fs) {
				t.Errorf("File returned %d findings, Reports %d", len(fs), n)
			}
			if c.cleanOnly {
				noErrorsOrWarnings(t, fs)
			}
			for _, id := range c.wantIDs {
				found := false
				for _, f := range fs {
					found = found || f.ID == id
				}
				if !found {
					t.Errorf("missing %s in [%s]", id, findingIDs(fs))
				}
			}
		})
	}
}
