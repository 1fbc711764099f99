package ldap

import (
	"bytes"
	"reflect"
	"testing"
)

func TestPagedResultsValue(t *testing.T) {
	p := &PagedResults{Size: 500, Cookie: []byte("ck")}
	want := bx(t, "30 08 02 02 01 f4 04 02 'ck'")
	if got := p.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("encode % x, want % x", got, want)
	}
	got, err := DecodePagedResults(want)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("decode %+v %v", got, err)
	}
	for name, bad := range map[string]string{
		"empty":            ``,
		"negative size":    `30 05 02 01 ff 04 00`,
		"missing cookie":   `30 03 02 01 01`,
		"trailing":         `30 05 02 01 01 04 00 00`,
		"cookie wrong tag": `30 05 02 01 01 05 00`,
	} {
		if _, err := DecodePagedResults(bx(t, bad)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestPasswordModifyValues(t *testing.T) {
	req := &PasswordModifyRequest{UserIdentity: []byte("u"), OldPassword: []byte("o"), NewPassword: []byte("n")}
	wire := bx(t, "30 09 80 01 'u' 81 01 'o' 82 01 'n'")
	if got := req.Encode(); !bytes.Equal(got, wire) {
		t.Fatalf("encode % x", got)
	}
	got, err := DecodePasswordModifyRequest(wire)
	if err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("decode %+v %v", got, err)
	}
	// An absent value and an empty SEQUENCE both mean "all absent".
	for _, v := range [][]byte{nil, bx(t, "30 00")} {
		got, err := DecodePasswordModifyRequest(v)
		if err != nil || !reflect.DeepEqual(got, &PasswordModifyRequest{}) {
			t.Errorf("%x: %+v %v", v, got, err)
		}
	}
	for name, bad := range map[string]string{
		"out of order": `30 06 82 01 'n' 80 01 'u'`,
		"unknown tag":  `30 03 83 01 'x'`,
		"not sequence": `31 00`,
	} {
		if _, err := DecodePasswordModifyRequest(bx(t, bad)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	resp := &PasswordModifyResponse{GenPassword: []byte("gen")}
	rw := bx(t, "30 05 80 03 'gen'")
	if got := resp.Encode(); !bytes.Equal(got, rw) {
		t.Fatalf("encode response % x", got)
	}
	if got, err := DecodePasswordModifyResponse(rw); err != nil || !reflect.DeepEqual(got, resp) {
		t.Fatalf("decode response %+v %v", got, err)
	}
	if (&PasswordModifyResponse{}).Encode() != nil {
		t.Error("empty response should have no value")
	}
}
