package ldap

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Each vector was worked out by hand from RFC 4511's ASN.1 (and checked
// with `openssl asn1parse -inform DER`); both directions are tested.
var messageVectors = []struct {
	name string
	hex  string
	msg  Message
}{
	{"BindRequest simple", `30 1a 02 01 01 60 15 02 01 03 04 08 'cn=admin' 80 06 'secret'`,
		Message{ID: 1, Op: &BindRequest{Version: 3, Name: "cn=admin", Method: BindSimple, Password: []byte("secret")}}},
	{"BindRequest SASL EXTERNAL", `30 16 02 01 02 60 11 02 01 03 04 00 a3 0a 04 08 'EXTERNAL'`,
		Message{ID: 2, Op: &BindRequest{Version: 3, Method: BindSASL, Mechanism: "EXTERNAL"}}},
	{"BindRequest SASL with credentials", `30 19 02 01 03 60 14 02 01 03 04 00 a3 0d 04 05 'PLAIN' 04 04 00 75 00 70`,
		Message{ID: 3, Op: &BindRequest{Version: 3, Method: BindSASL, Mechanism: "PLAIN", Credentials: []byte("\x00u\x00p")}}},
	{"BindResponse with serverSaslCreds", `30 10 02 01 01 61 0b 0a 01 00 04 00 04 00 87 02 'ok'`,
		Message{ID: 1, Op: &BindResponse{ServerSASLCreds: []byte("ok")}}},
	{"BindResponse invalidCredentials", `30 0f 02 01 01 61 0a 0a 01 31 04 00 04 03 'bad'`,
		Message{ID: 1, Op: &BindResponse{LDAPResult: LDAPResult{ResultCode: ResultInvalidCredentials, DiagnosticMessage: "bad"}}}},
	{"UnbindRequest", `30 05 02 01 05 42 00`, Message{ID: 5, Op: &UnbindRequest{}}},
	{"UnbindRequest two-octet ID", `30 06 02 02 01 2c 42 00`, Message{ID: 300, Op: &UnbindRequest{}}},
	{"UnbindRequest ID 128", `30 06 02 02 00 80 42 00`, Message{ID: 128, Op: &UnbindRequest{}}},
	{"SearchRequest present", `30 40 02 01 02 63 3b 04 11 'dc=example,dc=com' 0a 01 02 0a 01 00 02 01 00 02 01 00 01 01 00
		87 0b 'objectClass' 30 0a 04 02 'cn' 04 04 'mail'`,
		Message{ID: 2, Op: &SearchRequest{BaseObject: "dc=example,dc=com", Scope: ScopeWholeSubtree,
			Filter: Filter{Type: FilterPresent, Attr: "objectClass"}, Attributes: []string{"cn", "mail"}}}},
	{"SearchRequest and/not with paged results control", `30 5a 02 01 03 63 2d 04 00 0a 01 00 0a 01 03 02 01 0a 02 01 05 01 01 ff
		a0 18 a3 0b 04 03 'uid' 04 04 'jane' a2 09 a3 07 04 02 'cn' 04 01 'x' 30 00
		a0 26 30 24 04 16 '1.2.840.113556.1.4.319' 01 01 ff 04 07 30 05 02 01 0a 04 00`,
		Message{ID: 3, Op: &SearchRequest{Scope: ScopeBaseObject, DerefAliases: DerefAlways, SizeLimit: 10, TimeLimit: 5, TypesOnly: true,
			Filter: Filter{Type: FilterAnd, Children: []Filter{
				{Type: FilterEqualityMatch, Attr: "uid", Value: []byte("jane")},
				{Type: FilterNot, Children: []Filter{{Type: FilterEqualityMatch, Attr: "cn", Value: []byte("x")}}},
			}}},
			Controls: []Control{{OID: OIDPagedResults, Criticality: true, Value: bx(nil, "30 05 02 01 0a 04 00")}}}},
	{"SearchResultEntry", `30 3b 02 01 02 64 36 04 09 'cn=a,dc=x' 30 29 30 09 04 02 'cn' 31 03 04 01 'a'
		30 1c 04 0b 'objectClass' 31 0d 04 03 'top' 04 06 'person'`,
		Message{ID: 2, Op: &SearchResultEntry{ObjectName: "cn=a,dc=x", Attributes: []Attribute{
			{Type: "cn", Values: [][]byte{[]byte("a")}},
			{Type: "objectClass", Values: [][]byte{[]byte("top"), []byte("person")}}}}}},
	{"SearchResultDone", `30 0c 02 01 02 65 07 0a 01 00 04 00 04 00`, Message{ID: 2, Op: &SearchResultDone{}}},
	{"SearchResultDone referral", `30 19 02 01 02 65 14 0a 01 0a 04 00 04 00 a3 0b 04 09 'ldap://h/'`,
		Message{ID: 2, Op: &SearchResultDone{LDAPResult{ResultCode: ResultReferral, Referral: []string{"ldap://h/"}}}}},
	{"SearchResultReference", `30 11 02 01 02 73 0c 04 0a 'ldap://h/a'`,
		Message{ID: 2, Op: &SearchResultReference{URIs: []string{"ldap://h/a"}}}},
	{"ModifyRequest", `30 4a 02 01 04 66 45 04 04 'cn=a' 30 3d
		30 12 0a 01 02 30 0d 04 04 'mail' 31 05 04 03 'm@x'
		30 0e 0a 01 01 30 09 04 05 'phone' 31 00
		30 17 0a 01 00 30 12 04 0b 'description' 31 03 04 01 'd'`,
		Message{ID: 4, Op: &ModifyRequest{Object: "cn=a", Changes: []Change{
			{ModifyReplace, Attribute{"mail", [][]byte{[]byte("m@x")}}},
			{ModifyDelete, Attribute{"phone", nil}},
			{ModifyAdd, Attribute{"description", [][]byte{[]byte("d")}}}}}}},
	{"ModifyResponse", `30 0c 02 01 04 67 07 0a 01 00 04 00 04 00`, Message{ID: 4, Op: &ModifyResponse{}}},
	{"AddRequest", `30 31 02 01 05 68 2c 04 04 'cn=b' 30 24 30 17 04 0b 'objectClass' 31 08 04 06 'person' 30 09 04 02 'cn' 31 03 04 01 'b'`,
		Message{ID: 5, Op: &AddRequest{Entry: "cn=b", Attributes: []Attribute{
			{"objectClass", [][]byte{[]byte("person")}}, {"cn", [][]byte{[]byte("b")}}}}}},
	{"AddResponse entryAlreadyExists", `30 10 02 01 05 69 0b 0a 01 44 04 04 'dc=x' 04 00`,
		Message{ID: 5, Op: &AddResponse{LDAPResult{ResultCode: ResultEntryAlreadyExists, MatchedDN: "dc=x"}}}},
	{"DelRequest", `30 09 02 01 06 4a 04 'cn=b'`, Message{ID: 6, Op: &DelRequest{DN: "cn=b"}}},
	{"DelResponse notAllowedOnNonLeaf", `30 0c 02 01 06 6b 07 0a 01 42 04 00 04 00`,
		Message{ID: 6, Op: &DelResponse{LDAPResult{ResultCode: ResultNotAllowedOnNonLeaf}}}},
	{"ModifyDNRequest newSuperior", `30 1f 02 01 07 6c 1a 04 09 'cn=a,dc=x' 04 04 'cn=b' 01 01 ff 80 04 'ou=y'`,
		Message{ID: 7, Op: &ModifyDNRequest{Entry: "cn=a,dc=x", NewRDN: "cn=b", DeleteOldRDN: true, NewSuperior: "ou=y", HasNewSuperior: true}}},
	{"ModifyDNRequest", `30 19 02 01 07 6c 14 04 09 'cn=a,dc=x' 04 04 'cn=b' 01 01 00`,
		Message{ID: 7, Op: &ModifyDNRequest{Entry: "cn=a,dc=x", NewRDN: "cn=b"}}},
	{"ModifyDNResponse", `30 0c 02 01 07 6d 07 0a 01 00 04 00 04 00`, Message{ID: 7, Op: &ModifyDNResponse{}}},
	{"CompareRequest", `30 18 02 01 08 6e 13 04 04 'cn=a' 30 0b 04 04 'mail' 04 03 'm@x'`,
		Message{ID: 8, Op: &CompareRequest{Entry: "cn=a", Attr: "mail", Value: []byte("m@x")}}},
	{"CompareResponse compareTrue", `30 0c 02 01 08 6f 07 0a 01 06 04 00 04 00`,
		Message{ID: 8, Op: &CompareResponse{LDAPResult{ResultCode: ResultCompareTrue}}}},
	{"AbandonRequest", `30 06 02 01 09 50 01 03`, Message{ID: 9, Op: &AbandonRequest{ID: 3}}},
	{"ExtendedRequest WhoAmI", `30 1e 02 01 0a 77 19 80 17 '1.3.6.1.4.1.4203.1.11.3'`,
		Message{ID: 10, Op: &ExtendedRequest{Name: OIDWhoAmI}}},
	{"ExtendedRequest StartTLS", `30 1d 02 01 01 77 18 80 16 '1.3.6.1.4.1.1466.20037'`,
		Message{ID: 1, Op: &ExtendedRequest{Name: OIDStartTLS}}},
	{"ExtendedRequest PasswordModify", `30 2d 02 01 0b 77 28 80 17 '1.3.6.1.4.1.4203.1.11.1' 81 0d 30 0b 80 04 'cn=a' 82 03 'new'`,
		Message{ID: 11, Op: &ExtendedRequest{Name: OIDPasswordModify,
			Value: (&PasswordModifyRequest{UserIdentity: []byte("cn=a"), NewPassword: []byte("new")}).Encode()}}},
	{"ExtendedResponse WhoAmI", `30 15 02 01 0a 78 10 0a 01 00 04 00 04 00 8b 07 'dn:cn=a'`,
		Message{ID: 10, Op: &ExtendedResponse{Value: []byte("dn:cn=a")}}},
	{"Notice of Disconnection", `30 27 02 01 00 78 22 0a 01 02 04 00 04 03 'bye' 8a 16 '1.3.6.1.4.1.1466.20036'`,
		*NoticeOfDisconnection(ResultProtocolError, "bye")},
	{"IntermediateResponse", `30 0f 02 01 04 79 0a 80 05 '1.2.3' 81 01 'v'`,
		Message{ID: 4, Op: &IntermediateResponse{Name: "1.2.3", Value: []byte("v")}}},
}

func TestMessageVectors(t *testing.T) {
	for _, tt := range messageVectors {
		t.Run(tt.name, func(t *testing.T) {
			wire := bx(t, tt.hex)
			got, err := DecodeMessage(wire)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.msg) {
				t.Errorf("decode:\n got %#v\nwant %#v", got.Op, tt.msg.Op)
			}
			enc, err := tt.msg.Marshal()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(enc, wire) {
				t.Errorf("encode:\n got % x\nwant % x", enc, wire)
			}
		})
	}
}

func TestNoticeOfDisconnection(t *testing.T) {
	m, err := DecodeMessage(bx(t, messageVectors[len(messageVectors)-2].hex))
	if err != nil || !IsNoticeOfDisconnection(m) {
		t.Fatalf("not recognised: %v", err)
	}
}

// Malformed requests: fatal ones close the connection, invalid values get
// an answer with the right result code.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		hex   string
		code  ResultCode
		fatal bool
		resp  byte // response tag for non-fatal errors
		why   string
	}{
		{"empty", ``, ResultProtocolError, true, 0, "missing element"},
		{"not a sequence", `31 03 02 01 01`, ResultProtocolError, true, 0, "tag 0x31"},
		{"indefinite envelope", `30 80 02 01 01 42 00 00 00`, ResultProtocolError, true, 0, "indefinite"},
		{"truncated", `30 1a 02 01 01 60 15 02 01 03`, ResultProtocolError, true, 0, ""},
		{"data after message", `30 05 02 01 05 42 00 00`, ResultProtocolError, true, 0, "data after"},
		{"negative message ID", `30 05 02 01 ff 42 00`, ResultProtocolError, true, 0, "out of range"},
		{"message ID too large", `30 09 02 05 01 00 00 00 00 42 00`, ResultProtocolError, true, 0, ""},
		{"missing op", `30 03 02 01 01`, ResultProtocolError, true, 0, ""},
		{"unknown op", `30 05 02 01 01 7e 00`, ResultProtocolError, true, 0, "unknown operation"},
		{"unbind with content", `30 06 02 01 05 42 01 00`, ResultProtocolError, true, 0, "with content"},
		{"bind name with wrong tag", `30 1a 02 01 01 60 15 02 01 03 05 08 'cn=admin' 80 06 'secret'`, ResultProtocolError, true, 0, ""},
		{"bind garbage after auth", `30 1b 02 01 01 60 16 02 01 03 04 08 'cn=admin' 80 06 'secret' 04`, ResultProtocolError, true, 0, "trailing"},
		{"bind version 0", `30 1a 02 01 01 60 15 02 01 00 04 08 'cn=admin' 80 06 'secret'`, ResultProtocolError, false, TagBindResponse, ""},
		{"bind kerberos choice", `30 1a 02 01 01 60 15 02 01 03 04 08 'cn=admin' 81 06 'secret'`, ResultAuthMethodNotSupported, false, TagBindResponse, "not supported"},
		{"bind constructed simple", `30 1a 02 01 01 60 15 02 01 03 04 08 'cn=admin' a0 06 'secret'`, ResultProtocolError, true, 0, "authentication tag"},
		{"search bad scope", `30 25 02 01 02 63 20 04 00 0a 01 07 0a 01 00 02 01 00 02 01 00 01 01 00 87 0b 'objectClass' 30 00`,
			ResultProtocolError, false, TagSearchResultDone, "invalid scope 7"},
		{"search bad deref", `30 25 02 01 02 63 20 04 00 0a 01 00 0a 01 04 02 01 00 02 01 00 01 01 00 87 0b 'objectClass' 30 00`,
			ResultProtocolError, false, TagSearchResultDone, ""},
		{"search negative size", `30 25 02 01 02 63 20 04 00 0a 01 00 0a 01 00 02 01 ff 02 01 00 01 01 00 87 0b 'objectClass' 30 00`,
			ResultProtocolError, false, TagSearchResultDone, ""},
		{"search bad filter tag", `30 25 02 01 02 63 20 04 00 0a 01 00 0a 01 00 02 01 00 02 01 00 01 01 00 8b 0b 'objectClass' 30 00`,
			ResultProtocolError, true, 0, "unknown filter tag"},
		{"search empty not", `30 1a 02 01 02 63 15 04 00 0a 01 00 0a 01 00 02 01 00 02 01 00 01 01 00 a2 00 30 00`,
			ResultProtocolError, true, 0, "empty not"},
		{"search extensible without rule or type", `30 1d 02 01 02 63 18 04 00 0a 01 00 0a 01 00 02 01 00 02 01 00 01 01 00 a9 03 83 01 'x' 30 00`,
			ResultProtocolError, false, TagSearchResultDone, "extensible match without"},
		{"search boolean of two octets", `30 26 02 01 02 63 21 04 00 0a 01 00 0a 01 00 02 01 00 02 01 00 01 02 00 00 87 0b 'objectClass' 30 00`,
			ResultProtocolError, true, 0, "boolean of 2"},
		{"search attributes missing", `30 23 02 01 02 63 1e 04 00 0a 01 00 0a 01 00 02 01 00 02 01 00 01 01 00 87 0b 'objectClass'`,
			ResultProtocolError, true, 0, "missing element"},
		{"modify bad operation", `30 1a 02 01 04 66 15 04 04 'cn=a' 30 0d 30 0b 0a 01 07 30 06 04 01 'a' 31 01 00`, ResultProtocolError, true, 0, ""},
		{"modify unknown operation", `30 1b 02 01 04 66 16 04 04 'cn=a' 30 0e 30 0c 0a 01 07 30 07 04 01 'a' 31 02 04 00`, ResultProtocolError, false, TagModifyResponse, ""},
		{"modify add without values", `30 19 02 01 04 66 14 04 04 'cn=a' 30 0c 30 0a 0a 01 00 30 05 04 01 'a' 31 00`, ResultProtocolError, false, TagModifyResponse, ""},
		{"add without values", `30 15 02 01 05 68 10 04 04 'cn=b' 30 08 30 06 04 02 'cn' 31 00`, ResultProtocolError, false, TagAddResponse, ""},
		{"abandon negative", `30 06 02 01 09 50 01 ff`, ResultProtocolError, true, 0, ""},
		{"controls garbage", `30 09 02 01 05 42 00 a0 02 30 05`, ResultProtocolError, true, 0, ""},
		{"bad scope then malformed controls", `30 29 02 01 02 63 20 04 00 0a 01 07 0a 01 00 02 01 00 02 01 00 01 01 00 87 0b 'objectClass' 30 00 a0 02 30 05`,
			ResultProtocolError, true, 0, "controls"},
		{"control criticality of two octets", `30 11 02 01 05 42 00 a0 0a 30 08 04 02 '1.' 01 02 ff ff`, ResultProtocolError, true, 0, "boolean of 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMessage(bx(t, tt.hex))
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ProtocolError", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			if pe.Code != tt.code || pe.Fatal != tt.fatal {
				t.Fatalf("code %s fatal %v, want %s %v (%v)", pe.Code, pe.Fatal, tt.code, tt.fatal, err)
			}
			resp := pe.Response()
			if tt.fatal {
				if resp != nil {
					t.Fatalf("fatal error has a response %#v", resp)
				}
				return
			}
			if resp == nil || resp.Op.Tag() != tt.resp {
				t.Fatalf("response %#v, want tag %02x", resp, tt.resp)
			}
			if _, err := resp.Marshal(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// RFC 4511 §4: trailing SEQUENCE components with unknown tags are ignored.
func TestTrailingComponentsIgnored(t *testing.T) {
	// A DelResponse with an extra [9] element, and a message with an
	// element after the controls.
	for _, h := range []string{
		`30 0f 02 01 06 6b 0a 0a 01 00 04 00 04 00 89 01 00`,
		`30 0a 02 01 05 42 00 a0 00 89 01 00`,
	} {
		if _, err := DecodeMessage(bx(t, h)); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}

func TestResultCodeString(t *testing.T) {
	for code, want := range map[ResultCode]string{
		ResultSuccess: "success", ResultProtocolError: "protocolError", ResultNoSuchObject: "noSuchObject",
		ResultUnavailableCriticalExtension: "unavailableCriticalExtension", ResultOther: "other", 9: "resultCode(9)",
	} {
		if got := code.String(); got != want {
			t.Errorf("%d: %q, want %q", code, got, want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, m := range map[string]*Message{
		"no op":                  {ID: 1},
		"negative ID":            {ID: -1, Op: &UnbindRequest{}},
		"not with two children":  {ID: 1, Op: &SearchRequest{Filter: Filter{Type: FilterNot}}},
		"empty substrings":       {ID: 1, Op: &SearchRequest{Filter: Filter{Type: FilterSubstrings, Attr: "cn"}}},
		"extensible without any": {ID: 1, Op: &SearchRequest{Filter: Filter{Type: FilterExtensibleMatch}}},
		"add without values":     {ID: 1, Op: &AddRequest{Entry: "cn=a", Attributes: []Attribute{{Type: "cn"}}}},
		"reference without URIs": {ID: 1, Op: &SearchResultReference{}},
	} {
		if _, err := m.Marshal(); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}
