package gsk_test

import (
	"fmt"

	"github.com/pkid/pkid/gsk"
)

func ExampleDecode() {
	rep, err := gsk.Decode("GSK_SERVER_TLS_KEY_SHARES=003000290021", gsk.KindAuto)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range rep.Results[0].Items {
		fmt.Println(it.Code, it.IANA, it.OpenSSL)
	}
	for _, p := range rep.Results[0].Problems {
		fmt.Println(p)
	}
	// Output:
	// 0030 x448 X448
	// 0029 x25519 X25519
	// 0021 secp224r1 secp224r1
	// position 3: 0021 (secp224r1) cannot be a TLS 1.3 key share; remove it from GSK_SERVER_TLS_KEY_SHARES
}

func ExampleEncode() {
	v, err := gsk.Encode(gsk.KindCipher, []string{"TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s=%s\n", gsk.Variable(gsk.KindCipher), v)
	// Output: GSK_V3_CIPHER_SPECS_EXPANDED=1301C02C
}

func ExamplePlan() {
	// The peer, as a scan reported it, accepts only TLS_RSA_WITH_AES_256_CBC_SHA:
	// an EC certificate cannot work with it (System SSL: alert 80, reason 434).
	_, err := gsk.Plan(gsk.PlanRequest{KeyType: gsk.KeyEC, Peer: &gsk.Peer{Suites: []uint16{0x0035}}})
	fmt.Println(err != nil)
	p, _ := gsk.Plan(gsk.PlanRequest{KeyType: gsk.KeyEC, Curve: "P-256", Role: gsk.RoleServer})
	for _, l := range p.Lines[5:] {
		fmt.Printf("%s=%s\n", l.Name, l.Value)
	}
	// Output:
	// true
	// GSK_V3_CIPHER_SPECS_EXPANDED=130213011303C02CC02B
	// GSK_TLS_SIG_ALG_PAIRS=040305030603080408050806040105010601
	// GSK_SERVER_TLS_KEY_SHARES=00290023002400250030
	// GSK_SERVER_ECURVE_LIST=0029002300240025
}
