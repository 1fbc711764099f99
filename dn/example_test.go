package dn_test

import (
	"fmt"

	"github.com/pkid/pkid/dn"
)

func ExampleParse() {
	rdns, err := dn.Parse(`CN=Smith\, John+UID=jsmith,OU=CA,O=SSS,C=GB`)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(rdns), "RDNs, most significant first:", dn.TypeName(rdns[0][0].Type))
	fmt.Println(dn.String(rdns))
	slash, _ := dn.Parse("/C=GB/O=SSS/OU=CA/CN=SSCA256")
	fmt.Println(dn.String(slash))
	// Output:
	// 4 RDNs, most significant first: C
	// CN=Smith\, John+UID=jsmith,OU=CA,O=SSS,C=GB
	// CN=SSCA256,OU=CA,O=SSS,C=GB
}

func ExampleEqual() {
	fmt.Println(dn.Equal("CN=Web  Server,O=Example", "cn=web server, o=EXAMPLE"))
	n, _ := dn.Normalize("/O=Example/CN=Web Server")
	fmt.Println(n)
	// Output:
	// true
	// cn=web server,o=example
}
