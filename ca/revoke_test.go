package ca_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/internal/pkitest"
	"github.com/pkid/pkid/store"
)

func TestRevoke(t *testing.T) {
	c := pkitest.NewCA(t, pkitest.Options{})
	ctx := context.Background()
	leaf := c.Issue(t, ca.Request{Profile: "client", Subject: "CN=a"})
	inv := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	// Lower case and leading zeros are accepted.
	got, err := c.Service.Revoke(ctx, "00"+strings.ToLower(leaf.Serial), ca.ReasonKeyCompromise, inv)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusRevoked || got.Reason != ca.ReasonKeyCompromise || !got.InvalidityDate.Equal(inv) {
		t.Fatalf("revoked: %+v", got)
	}
	before := snapshot(t, c.Store)
	_, err = c.Service.Revoke(ctx, leaf.Serial, ca.ReasonSuperseded, time.Time{})
	if !errors.Is(err, store.ErrAlreadyRevoked) || !strings.Contains(err.Error(), "already revoked (keyCompromise") {
		t.Fatalf("second revocation: %v", err)
	}
	if snapshot(t, c.Store) != before {
		t.Fatal("second revocation changed the store")
	}

	// Hold, release, hold again, then a final reason.
	held := c.Issue(t, ca.Request{Profile: "client", Subject: "CN=h"})
	if _, err := c.Service.Revoke(ctx, held.Serial, ca.ReasonCertificateHold, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Service.Revoke(ctx, held.Serial, ca.ReasonCertificateHold, time.Time{}); !errors.Is(err, store.ErrAlreadyRevoked) {
		t.Fatalf("hold twice: %v", err)
	}
	rel, err := c.Service.Release(ctx, held.Serial)
	if err != nil || rel.Status != store.StatusValid {
		t.Fatalf("release: %+v, %v", rel, err)
	}
	if _, err := c.Service.Release(ctx, held.Serial); !errors.Is(err, store.ErrNotRevoked) {
		t.Fatalf("release of a valid certificate: %v", err)
	}
	c.Service.Revoke(ctx, held.Serial, ca.ReasonCertificateHold, time.Time{})
	if fin, err := c.Service.Revoke(ctx, held.Serial, ca.ReasonCessationOfOperation, time.Time{}); err != nil || fin.Reason != ca.ReasonCessationOfOperation {
		t.Fatalf("hold -> final: %+v, %v", fin, err)
	}

	// cACompromise is for CA certificates.
	sub := c.Issue(t, ca.Request{Profile: "sub-ca", Subject: "CN=Sub"})
	if _, err := c.Service.Revoke(ctx, sub.Serial, ca.ReasonCACompromise, time.Time{}); err != nil {
		t.Fatalf("cACompromise of a sub-CA: %v", err)
	}

	other := c.Issue(t, ca.Request{Profile: "client", Subject: "CN=o"})
	bad := []struct {
		name, serial string
		reason       int
		inv          time.Time
		want         string
	}{
		{"unknown serial", "0123456789ABCDEF", ca.ReasonKeyCompromise, time.Time{}, "no certificate with serial 0123456789ABCDEF"},
		{"not hex", "xyz", ca.ReasonKeyCompromise, time.Time{}, "not a serial number"},
		{"removeFromCRL", other.Serial, ca.ReasonRemoveFromCRL, time.Time{}, "--release"},
		{"undefined reason 7", other.Serial, 7, time.Time{}, "reason(7) is not an RFC 5280"},
		{"cACompromise on a leaf", other.Serial, ca.ReasonCACompromise, time.Time{}, "keyCompromise"},
		{"future invalidity", other.Serial, ca.ReasonKeyCompromise, time.Now().Add(time.Hour), "in the future"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c.Store)
			_, err := c.Service.Revoke(ctx, tc.serial, tc.reason, tc.inv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Revoke: %v, want %q", err, tc.want)
			}
			if snapshot(t, c.Store) != before {
				t.Fatal("store changed")
			}
		})
	}
	if _, err := c.Service.Release(ctx, "0123456789ABCDEF"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("release unknown: %v", err)
	}
}
