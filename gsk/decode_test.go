package gsk

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// codes returns "CODE=IANA" for each item, "CODE=?" when unknown.
func codes(res Result) []string {
	var out []string
	for _, it := range res.Items {
		n := it.IANA
		if !it.Known {
			n = "?"
		}
		out = append(out, it.Code+"="+n)
	}
	return out
}

// TestDecodeSeeds decodes the exact strings from the z/OS blog posts
// (shared/seeds/001) and issue 7.
func TestDecodeSeeds(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		kind     Kind
		variable string
		want     []string // CODE=IANA in order
		problems []string // substrings, in order
	}{
		{
			name:     "blog LDAP server suites",
			in:       "GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02BC030C02FC024C023130313011302",
			variable: "GSK_V3_CIPHER_SPECS_EXPANDED",
			want: []string{"C02C=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "C02B=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
				"C030=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "C02F=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
				"C024=TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "C023=TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
				"1303=TLS_CHACHA20_POLY1305_SHA256", "1301=TLS_AES_128_GCM_SHA256", "1302=TLS_AES_256_GCM_SHA384"},
		},
		{
			name:     "blog default value",
			in:       "GSK_V3_CIPHER_SPECS_EXPANDED=003500380039002F00320033",
			variable: "GSK_V3_CIPHER_SPECS_EXPANDED",
			want: []string{"0035=TLS_RSA_WITH_AES_256_CBC_SHA", "0038=TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "0039=TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
				"002F=TLS_RSA_WITH_AES_128_CBC_SHA", "0032=TLS_DHE_DSS_WITH_AES_128_CBC_SHA", "0033=TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
		},
		{
			name:     "blog lower-case hex",
			in:       "GSK_V3_CIPHER_SPECS_EXPANDED=006BC006C007C008c024c023c0251303130113020039",
			variable: "GSK_V3_CIPHER_SPECS_EXPANDED",
			want: []string{"006B=TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "C006=TLS_ECDHE_ECDSA_WITH_NULL_SHA", "C007=TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
				"C008=TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "c024=TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "c023=TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
				"c025=TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", "1303=TLS_CHACHA20_POLY1305_SHA256", "1301=TLS_AES_128_GCM_SHA256",
				"1302=TLS_AES_256_GCM_SHA384", "0039=TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
		},
		{
			name:     "blog client script with typographic quotes",
			in:       "export GSK_V3_CIPHER_SPECS_EXPANDED=”130213011303C02BC02CC030C028C02aC024C026C02E”",
			variable: "GSK_V3_CIPHER_SPECS_EXPANDED",
			want: []string{"1302=TLS_AES_256_GCM_SHA384", "1301=TLS_AES_128_GCM_SHA256", "1303=TLS_CHACHA20_POLY1305_SHA256",
				"C02B=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "C02C=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
				"C030=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "C028=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
				"C02a=TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", "C024=TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
				"C026=TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", "C02E=TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
		},
		{
			name:     "issue sig alg pairs with a duplicate 0403",
			in:       "GSK_TLS_SIG_ALG_PAIRS=0601050104010301080608050804050304030403",
			variable: "GSK_TLS_SIG_ALG_PAIRS",
			want: []string{"0601=rsa_pkcs1_sha512", "0501=rsa_pkcs1_sha384", "0401=rsa_pkcs1_sha256", "0301=rsa_pkcs1_sha224",
				"0806=rsa_pss_rsae_sha512", "0805=rsa_pss_rsae_sha384", "0804=rsa_pss_rsae_sha256", "0503=ecdsa_secp384r1_sha384",
				"0403=ecdsa_secp256r1_sha256", "0403=ecdsa_secp256r1_sha256"},
			problems: []string{"position 10: 0403 appears again (first at position 9)"},
		},
		{
			name:     "blog sig alg pairs with trailing double prime",
			in:       "GSK_TLS_SIG_ALG_PAIRS=0601060305010503040104030402″",
			variable: "GSK_TLS_SIG_ALG_PAIRS",
			want: []string{"0601=rsa_pkcs1_sha512", "0603=ecdsa_secp521r1_sha512", "0501=rsa_pkcs1_sha384", "0503=ecdsa_secp384r1_sha384",
				"0401=rsa_pkcs1_sha256", "0403=ecdsa_secp256r1_sha256", "0402=dsa_sha256"},
		},
		{
			name:     "issue key shares",
			in:       "GSK_SERVER_TLS_KEY_SHARES=00300029002500240023",
			variable: "GSK_SERVER_TLS_KEY_SHARES",
			want:     []string{"0030=x448", "0029=x25519", "0025=secp521r1", "0024=secp384r1", "0023=secp256r1"},
		},
		{
			name:     "blog client key shares with 0021",
			in:       "export GSK_CLIENT_TLS_KEY_SHARES=”003000290025002400230021″",
			variable: "GSK_CLIENT_TLS_KEY_SHARES",
			want:     []string{"0030=x448", "0029=x25519", "0025=secp521r1", "0024=secp384r1", "0023=secp256r1", "0021=secp224r1"},
			problems: []string{"position 6: 0021 (secp224r1) cannot be a TLS 1.3 key share"},
		},
		{
			name:     "blog curve list",
			in:       "export GSK_CLIENT_ECURVE_LIST=”00230024002500290030″",
			variable: "GSK_CLIENT_ECURVE_LIST",
			want:     []string{"0023=secp256r1", "0024=secp384r1", "0025=secp521r1", "0029=x25519", "0030=x448"},
		},
		{
			name:     "legacy 2-digit specs",
			in:       "GSK_V3_CIPHER_SPECS=352F0A050409",
			variable: "GSK_V3_CIPHER_SPECS",
			want: []string{"35=TLS_RSA_WITH_AES_256_CBC_SHA", "2F=TLS_RSA_WITH_AES_128_CBC_SHA", "0A=TLS_RSA_WITH_3DES_EDE_CBC_SHA",
				"05=TLS_RSA_WITH_RC4_128_SHA", "04=TLS_RSA_WITH_RC4_128_MD5", "09=TLS_RSA_WITH_DES_CBC_SHA"},
		},
		{
			name:     "expanded value in the 2-digit variable",
			in:       "GSK_V3_CIPHER_SPECS=C02FC030",
			variable: "GSK_V3_CIPHER_SPECS",
			want:     []string{"C0=TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", "2F=TLS_RSA_WITH_AES_128_CBC_SHA", "C0=TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", "30=TLS_DH_DSS_WITH_AES_128_CBC_SHA"},
			problems: []string{"position 3: C0 appears again", "did you mean GSK_V3_CIPHER_SPECS_EXPANDED"},
		},
		{
			name: "bare suites with explicit kind", in: "0035C02F", kind: KindCipher,
			want: []string{"0035=TLS_RSA_WITH_AES_256_CBC_SHA", "C02F=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		},
		{
			name: "bare key shares with explicit kind", in: "00300029002500240023", kind: KindGroup,
			want: []string{"0030=x448", "0029=x25519", "0025=secp521r1", "0024=secp384r1", "0023=secp256r1"},
		},
		{
			name: "bare sigalgs detected", in: "0601050104010301080608050804",
			want: []string{"0601=rsa_pkcs1_sha512", "0501=rsa_pkcs1_sha384", "0401=rsa_pkcs1_sha256", "0301=rsa_pkcs1_sha224",
				"0806=rsa_pss_rsae_sha512", "0805=rsa_pss_rsae_sha384", "0804=rsa_pss_rsae_sha256"},
		},
		{
			name: "bare suites detected", in: "C02CC02B",
			want: []string{"C02C=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "C02B=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
		},
		{
			name: "separators and 0x prefixes", in: "0xC02C, 0xC02B 1301", kind: KindCipher,
			want: []string{"C02C=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "C02B=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "1301=TLS_AES_128_GCM_SHA256"},
		},
		{
			name: "unknown and GREASE codes flagged", in: "C02CFFFF0A0A", kind: KindCipher,
			want:     []string{"C02C=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "FFFF=?", "0A0A=?"},
			problems: []string{"position 2: FFFF is not an assigned cipher suite", "position 3: 0A0A is a GREASE value"},
		},
		{
			name: "unknown group flagged", in: "00239999", kind: KindGroup,
			want:     []string{"0023=secp256r1", "9999=?"},
			problems: []string{"position 2: 9999 is not a known named group"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Decode(tt.in, tt.kind)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(rep.Results) != 1 {
				t.Fatalf("got %d results, want 1", len(rep.Results))
			}
			res := rep.Results[0]
			if res.Variable != tt.variable {
				t.Errorf("variable %q, want %q", res.Variable, tt.variable)
			}
			if got := codes(res); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("items\n got %v\nwant %v", got, tt.want)
			}
			if len(res.Problems) != len(tt.problems) {
				t.Fatalf("problems %v, want %d matching %q", res.Problems, len(tt.problems), tt.problems)
			}
			for i, p := range tt.problems {
				if !strings.Contains(res.Problems[i].String(), p) {
					t.Errorf("problem %d = %q, want it to contain %q", i, res.Problems[i], p)
				}
			}
		})
	}
}

func TestDecodeItemDetails(t *testing.T) {
	rep, err := Decode("GSK_V3_CIPHER_SPECS_EXPANDED=0035C02C1301", KindAuto)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{Position: 1, Offset: 1, Code: "0035", Value: 0x0035, Known: true, IANA: "TLS_RSA_WITH_AES_256_CBC_SHA", OpenSSL: "AES256-SHA",
			Versions: "SSL 3.0–TLS 1.2", KeyExchange: "RSA", Auth: "RSA", Verdict: "weak"},
		{Position: 2, Offset: 5, Code: "C02C", Value: 0xC02C, Known: true, IANA: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", OpenSSL: "ECDHE-ECDSA-AES256-GCM-SHA384",
			Versions: "TLS 1.2", KeyExchange: "ECDHE", Auth: "ECDSA", Verdict: "fine"},
		{Position: 3, Offset: 9, Code: "1301", Value: 0x1301, Known: true, IANA: "TLS_AES_128_GCM_SHA256", OpenSSL: "TLS_AES_128_GCM_SHA256",
			Versions: "TLS 1.3", KeyExchange: "any", Auth: "any", Verdict: "fine"},
	}
	for i, w := range want {
		got := rep.Results[0].Items[i]
		got.Reason, got.Note = "", ""
		if got != w {
			t.Errorf("item %d\n got %+v\nwant %+v", i, got, w)
		}
	}
}

// TestDecodeEnvironmentFile decodes the blog's whole LDAP environment file.
func TestDecodeEnvironmentFile(t *testing.T) {
	in := `# LDAP server environment (blog "TLS 1.3 for GSKit")
GSK_TRACE=0xff
GSK_TRACE_FILE=/tmp/gsktrace.ldap
GSK_PROTOCOL_TLSV1_1=off
GSK_PROTOCOL_TLSV1_2=off
GSK_PROTOCOL_TLSV1_3=on

GSK_SERVER_TLS_KEY_SHARES=00300029002500240023
GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02BC030C02FC024C023130313011302
GSK_TLS_SIG_ALG_PAIRS=060105010401030108060805080405030403
sslCipherSpecs GSK_V3_CIPHER_SPECS_EXPANDED
`
	rep, err := Decode(in, KindAuto)
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, r := range rep.Results {
		vars = append(vars, r.Variable)
	}
	if got := strings.Join(vars, " "); got != "GSK_SERVER_TLS_KEY_SHARES GSK_V3_CIPHER_SPECS_EXPANDED GSK_TLS_SIG_ALG_PAIRS" {
		t.Errorf("decoded %s", got)
	}
	if rep.Results[1].Line != 9 {
		t.Errorf("cipher specs on line %d, want 9", rep.Results[1].Line)
	}
	if len(rep.Ignored) != 6 {
		t.Errorf("ignored %+v, want 6 lines", rep.Ignored)
	}
	// The blog's server had TLS 1.2 off, so its TLS 1.2 suites are idle:
	// the only finding in a configuration that worked.
	if rep.ProblemCount() != 1 || !strings.Contains(rep.Problems[0].Message, "6 TLS 1.2 suites") {
		t.Errorf("problems %v %v, want only the idle TLS 1.2 suites", rep.Problems, rep.Results)
	}
}

// TestDecodeTolerance covers the ways pasted lines arrive.
func TestDecodeTolerance(t *testing.T) {
	for _, in := range []string{
		"GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02B\r\n",
		"  export   GSK_V3_CIPHER_SPECS_EXPANDED = 'C02CC02B'  # server list",
		"gsk_v3_cipher_specs_expanded=\"C02CC02B\";",
		"GSK_V3_CIPHER_SPECS_EXPANDED=“C02CC02B”",
		"# comment\n\n\tGSK_V3_CIPHER_SPECS_EXPANDED=C02C C02B\n",
		"GSK_V3_CIPHER_SPECS_EXPANDED=c02c,c02b",
	} {
		rep, err := Decode(in, KindAuto)
		if err != nil {
			t.Errorf("Decode(%q): %v", in, err)
			continue
		}
		r := rep.Results[0]
		if r.Variable != "GSK_V3_CIPHER_SPECS_EXPANDED" || len(r.Items) != 2 || r.Items[1].Value != 0xC02B || rep.ProblemCount() != 0 {
			t.Errorf("Decode(%q) = %s %d items, problems %v", in, r.Variable, len(r.Items), r.Problems)
		}
	}
}

func TestDecodeCrossChecks(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"TLS 1.3 on without 1.3 suites", "GSK_PROTOCOL_TLSV1_3=on\nGSK_V3_CIPHER_SPECS_EXPANDED=C02CC02B", "no TLS 1.3 suite"},
		{"TLS 1.3 off with 1.3 suites", "GSK_PROTOCOL_TLSV1_3=off\nGSK_V3_CIPHER_SPECS_EXPANDED=1301C02B", "never used"},
		{"TLS 1.3 on without PSS", "GSK_PROTOCOL_TLSV1_3=\"on\"\nGSK_TLS_SIG_ALG_PAIRS=04010403", "0804, 0805, 0806"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Decode(tt.in, KindAuto)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, tt.want) {
				t.Errorf("problems %+v, want one containing %q", rep.Problems, tt.want)
			}
		})
	}
}

func TestDecodeBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind Kind
		want string // substring of the error
		is   error
	}{
		{"empty", "", KindAuto, "nothing to decode", ErrEmpty},
		{"only comments", "# nothing\n\n", KindAuto, "nothing to decode", ErrEmpty},
		{"only other variables", "GSK_TRACE=0xff", KindAuto, "none of the lines", ErrEmpty},
		{"empty value", "GSK_V3_CIPHER_SPECS_EXPANDED=", KindAuto, "GSK_V3_CIPHER_SPECS_EXPANDED: empty value", nil},
		{"odd length", "GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02", KindAuto, `character 5: 7 digits do not divide into 4-digit cipher codes: the last code "C02" is incomplete`, nil},
		{"odd length legacy", "GSK_V3_CIPHER_SPECS=352", KindAuto, `character 3: 3 digits do not divide into 2-digit cipher2 codes`, nil},
		{"non-hex", "GSK_TLS_SIG_ALG_PAIRS=0601G501", KindAuto, `character 5: "G" is not a hex digit`, nil},
		{"ellipsis from the blog", "GSK_V3_CIPHER_SPECS_EXPANDED=0035….C02F", KindAuto, `character 5: "…" is not a hex digit`, nil},
		{"hex in a group list", "GSK_SERVER_TLS_KEY_SHARES=001D0017", KindAuto, `character 4: "D" is not a decimal digit`, nil},
		{"mixed widths", "0035,2F", KindCipher, `character 6: 2 digits do not divide into 4-digit cipher codes`, nil},
		{"line number in files", "GSK_TRACE=0xff\nGSK_TLS_SIG_ALG_PAIRS=060", KindAuto, "line 2: GSK_TLS_SIG_ALG_PAIRS: character 1:", nil},
		{"ambiguous suites or groups", "00300029002500240023", KindAuto, "reads as cipher or group", ErrAmbiguous},
		{"ambiguous one code", "0035", KindAuto, "pass --kind", ErrAmbiguous},
		{"nothing fits", "ZZZZ", KindAuto, `"Z" is not a hex digit`, nil},
		{"not UTF-8", "\xff\xfe", KindAuto, "UTF-8", nil},
		{"too long", strings.Repeat("0", MaxInput+1), KindCipher, "limit", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Decode(tt.in, tt.kind)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", rep)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
	var se *SyntaxError
	_, err := Decode("GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02", KindAuto)
	if !errors.As(err, &se) || se.Offset != 5 || se.Variable != "GSK_V3_CIPHER_SPECS_EXPANDED" {
		t.Errorf("error %v is not a SyntaxError at character 5", err)
	}
}

// TestGolden renders decoded inputs as the CLI prints them.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/decode/*.in")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			kind := KindAuto
			text := string(src)
			if first, rest, ok := strings.Cut(text, "\n"); ok && strings.HasPrefix(first, "#kind ") {
				if kind, err = ParseKind(strings.TrimPrefix(first, "#kind ")); err != nil {
					t.Fatal(err)
				}
				text = rest
			}
			var out strings.Builder
			rep, err := Decode(text, kind)
			if err != nil {
				out.WriteString("error: " + err.Error() + "\n")
			} else if err := rep.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".in") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./gsk -update to create it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s (go test ./gsk -update rewrites it)\n got:\n%s\nwant:\n%s", golden, out.String(), want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"GSK_V3_CIPHER_SPECS_EXPANDED=C02CC02BC030C02FC024C023130313011302",
		"GSK_TLS_SIG_ALG_PAIRS=0601050104010301080608050804050304030403",
		"export GSK_CLIENT_TLS_KEY_SHARES=”003000290025002400230021″",
		"GSK_V3_CIPHER_SPECS=350A",
		"0035….C02F",
		"00300029002500240023",
		"0xC02C, 0xC02B",
		"GSK_PROTOCOL_TLSV1_3=on\nGSK_V3_CIPHER_SPECS_EXPANDED=C02C\n# c\n",
	} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, in string, k int) {
		kind := Kind(((k % 5) + 5) % 5)
		rep, err := Decode(in, kind)
		if err != nil {
			return
		}
		if len(rep.Results) == 0 {
			t.Fatal("success without results")
		}
		for _, r := range rep.Results {
			if len(r.Items) == 0 {
				t.Fatalf("result without items: %+v", r)
			}
			for _, it := range r.Items {
				if it.Known != (it.IANA != "") {
					t.Fatalf("item known=%v with IANA %q", it.Known, it.IANA)
				}
			}
		}
		var sb strings.Builder
		if err := rep.WriteText(&sb); err != nil {
			t.Fatal(err)
		}
	})
}
