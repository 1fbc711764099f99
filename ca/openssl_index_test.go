package ca

import (
	"strings"
	"testing"
	"time"
)

func TestParseIndexLine(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	cases := []struct {
		name    string
		line    string
		want    IndexEntry
		wantErr string
	}{
		{name: "valid", line: "V\t271124020000Z\t\t1000\tunknown\t/O=bench/CN=leaf0",
			want: IndexEntry{Status: 'V', NotAfter: utc(2027, 11, 24, 2, 0, 0), Serial: "1000", File: "unknown", Subject: "/O=bench/CN=leaf0"}},
		{name: "expired generalized", line: "E\t20510101000000Z\t\t0a\t0A.pem\t/CN=x",
			want: IndexEntry{Status: 'E', NotAfter: utc(2051, 1, 1, 0, 0, 0), Serial: "0A", File: "0A.pem", Subject: "/CN=x"}},
		{name: "revoked no reason", line: "R\t271124020000Z\t261124010203Z\t00ff\tunknown\t/CN=x",
			want: IndexEntry{Status: 'R', NotAfter: utc(2027, 11, 24, 2, 0, 0), RevokedAt: utc(2026, 11, 24, 1, 2, 3), Reason: 0, Serial: "FF", File: "unknown", Subject: "/CN=x"}},
		{name: "revoked keyCompromise", line: "R\t271124020000Z\t261124010203Z,keyCompromise\t10000000\tunknown\t/CN=x",
			want: IndexEntry{Status: 'R', NotAfter: utc(2027, 11, 24, 2, 0, 0), RevokedAt: utc(2026, 11, 24, 1, 2, 3), Reason: 1, Serial: "10000000", File: "unknown", Subject: "/CN=x"}},
		{name: "reason case-insensitive", line: "R\t271124020000Z\t261124010203Z,CESSATIONofoperation\t01\tunknown\t/CN=x",
			want: IndexEntry{Status: 'R', NotAfter: utc(2027, 11, 24, 2, 0, 0), RevokedAt: utc(2026, 11, 24, 1, 2, 3), Reason: 5, Serial: "01", File: "unknown", Subject: "/CN=x"}},
		{name: "hold instruction", line: "R\t271124020000Z\t261124010203Z,holdInstruction,holdInstructionReject\t01\tunknown\t/CN=x",
			want: IndexEntry{Status: 'R', NotAfter: utc(2027, 11, 24, 2, 0, 0), RevokedAt: utc(2026, 11, 24, 1, 2, 3), Reason: 6, HoldInstruction: "holdInstructionReject", Serial: "01", File: "unknown", Subject: "/CN=x"}},
		{name: "keyTime", line: "R\t271124020000Z\t261124010203Z,keyTime,20261120000000Z\t01\tunknown\t/CN=x",
			want: IndexEntry{Status: 'R', NotAfter: utc(2027, 11, 24, 2, 0, 0), RevokedAt: utc(2026, 11, 24, 1, 2, 3), Reason: 1, InvalidityDate: utc(2026, 11, 20, 0, 0, 0), Serial: "01", File: "unknown", Subject: "/CN=x"}},
		{name: "CAkeyTime", line: "R\t271124020000Z\t261124010203Z,CAkeyTime,20261120000000Z\t01\tunknown\t/CN=x",
			want: IndexEntry{Status: 'R', NotAfter: utc(2027, 11, 24, 2, 0, 0), RevokedAt: utc(2026, 11, 24, 1, 2, 3), Reason: 2, InvalidityDate: utc(2026, 11, 20, 0, 0, 0), Serial: "01", File: "unknown", Subject: "/CN=x"}},
		{name: "1999 UTCTime", line: "V\t991231235959Z\t\t01\tunknown\t/CN=x",
			want: IndexEntry{Status: 'V', NotAfter: utc(1999, 12, 31, 23, 59, 59), Serial: "01", File: "unknown", Subject: "/CN=x"}},

		{name: "too few fields", line: "V\t271124020000Z\t\t1000\tunknown", wantErr: "5 tab-separated fields"},
		{name: "spaces not tabs", line: "V 271124020000Z  1000 unknown /CN=x", wantErr: "1 tab-separated fields"},
		{name: "bad status", line: "X\t271124020000Z\t\t1000\tunknown\t/CN=x", wantErr: `status "X"`},
		{name: "bad expiry", line: "V\t2711240200Z\t\t1000\tunknown\t/CN=x", wantErr: "expiry date"},
		{name: "expiry not UTC", line: "V\t271124020000+\t\t1000\tunknown\t/CN=x", wantErr: "must end in Z"},
		{name: "expiry Feb 30", line: "V\t270230020000Z\t\t1000\tunknown\t/CN=x", wantErr: "not a calendar date"},
		{name: "valid with revocation", line: "V\t271124020000Z\t261124010203Z\t1000\tunknown\t/CN=x", wantErr: "only R lines"},
		{name: "revoked without date", line: "R\t271124020000Z\t\t1000\tunknown\t/CN=x", wantErr: "needs a revocation date"},
		{name: "unknown reason", line: "R\t271124020000Z\t261124010203Z,stolen\t1000\tunknown\t/CN=x", wantErr: `unknown reason "stolen"`},
		{name: "keyTime without time", line: "R\t271124020000Z\t261124010203Z,keyTime\t1000\tunknown\t/CN=x", wantErr: "needs the compromise time"},
		{name: "extra part", line: "R\t271124020000Z\t261124010203Z,superseded,x\t1000\tunknown\t/CN=x", wantErr: "takes no third part"},
		{name: "bad serial", line: "V\t271124020000Z\t\t10G0\tunknown\t/CN=x", wantErr: "not a hex digit"},
		{name: "long serial", line: "V\t271124020000Z\t\t" + strings.Repeat("1", 41) + "\tunknown\t/CN=x", wantErr: "longer than 20 octets"},
		{name: "empty serial", line: "V\t271124020000Z\t\t\tunknown\t/CN=x", wantErr: "serial \"\": empty"},
		{name: "subject form", line: "V\t271124020000Z\t\t1000\tunknown\tCN=x", wantErr: "does not start with"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIndexLine(tc.line, 7)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "index line 7: ") {
					t.Fatalf("error %v, want \"index line 7: ...%s...\"", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Line = 7
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseIndex(t *testing.T) {
	good := "V\t271124020000Z\t\t01\tunknown\t/CN=a\r\n\nR\t271124020000Z\t261124010203Z,superseded\t02\tunknown\t/CN=b\nE\t251124020000Z\t\t03\tunknown\t/CN=c"
	es, err := ParseIndex(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 || es[0].Serial != "01" || es[1].Reason != ReasonSuperseded || es[2].Status != 'E' || es[2].Line != 4 {
		t.Fatalf("parsed %+v", es)
	}
	cases := []struct{ name, in, wantErr string }{
		{"corrupt third line", "V\t271124020000Z\t\t01\tunknown\t/CN=a\nV\t271124020000Z\t\t02\tunknown\t/CN=b\nV\t27112402\t\t03\tunknown\t/CN=c\n", "index line 3: expiry date"},
		{"duplicate serial", "V\t271124020000Z\t\t01\tunknown\t/CN=a\nV\t271124020000Z\t\t0001\tunknown\t/CN=b\n", "index line 2: serial 01 is already listed on line 1"},
		{"binary", "\x00\x01\x02", "index line 1:"},
		{"long line", strings.Repeat("V", 70000), "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIndex(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseCRLNumberFile(t *testing.T) {
	cases := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1000\n", 0x1000, false},
		{"01\n", 1, false},
		{"7FFFFFFFFFFFFFFF", 1<<63 - 1, false},
		{"", 0, true},
		{"00", 0, true},
		{"12g", 0, true},
		{"8000000000000000", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseCRLNumberFile([]byte(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseCRLNumberFile(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestIndexSubjectRFC4514(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/C=DE/O=Example/CN=host", "CN=host,O=Example,C=DE"},
		{"/O=a/b/CN=x", "CN=x,O=a/b"},
		{"/CN=a,b+c", `CN=a\,b\+c`},
		{"/CN= lead", `CN=\ lead`},
		{"", ""},
	}
	for _, tc := range cases {
		got, err := IndexSubjectRFC4514(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("IndexSubjectRFC4514(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := IndexSubjectRFC4514("/noequals"); err == nil {
		t.Error("want an error for a subject part without =")
	}
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte("V\t271124020000Z\t\t1000\tunknown\t/O=bench/CN=leaf0\n"))
	f.Add([]byte("R\t271124020000Z\t261124010203Z,keyTime,20261120000000Z\t01\tunknown\t/CN=x\n"))
	f.Add([]byte("R\t20510101000000Z\t20501124010203Z,holdInstruction,1.2.840.10040.2.2\tABCDEF\tABCDEF.pem\t/C=DE/CN=a/b\n"))
	f.Add([]byte("E\t251124020000Z\t\t03\tunknown\t/CN=c\r\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseIndex(strings.NewReader(string(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "index line ") && !strings.HasPrefix(err.Error(), "read index line ") {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range es {
			if e.Status != 'V' && e.Status != 'R' && e.Status != 'E' {
				t.Fatalf("status %q accepted", e.Status)
			}
			if (e.Status == 'R') == e.RevokedAt.IsZero() {
				t.Fatalf("line %d: status %c with revocation time %v", e.Line, e.Status, e.RevokedAt)
			}
			if len(e.Serial)%2 != 0 || len(e.Serial) > 40 || strings.ToUpper(e.Serial) != e.Serial || seen[e.Serial] {
				t.Fatalf("line %d: serial %q", e.Line, e.Serial)
			}
			seen[e.Serial] = true
			if e.Reason < 0 || e.Reason > ReasonRemoveFromCRL || e.Reason == 7 {
				t.Fatalf("line %d: reason %d", e.Line, e.Reason)
			}
			IndexSubjectRFC4514(e.Subject) // must not panic
		}
	})
}
