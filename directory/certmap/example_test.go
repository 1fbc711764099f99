package certmap_test

import (
	"fmt"

	"github.com/pkid/pkid/directory/certmap"
	"github.com/pkid/pkid/dn"
)

// A RACF-style SDNFILTER matches certificate subjects that end with its
// RDNs; '.' separates RDNs as in RACDCERT MAP.
func ExampleParseDNFilter() {
	f, err := certmap.ParseDNFilter("OU=Sales.O=IBM")
	if err != nil {
		panic(err)
	}
	for _, subject := range []string{"CN=Ann,OU=Sales,O=IBM", "CN=Ann,OU=Sales,O=IBM,C=US", "CN=Bob,OU=sales,O=ibm"} {
		rdns, _ := dn.Parse(subject)
		der, _ := dn.Marshal(rdns)
		fmt.Println(subject, f.Match(der))
	}
	// Output:
	// CN=Ann,OU=Sales,O=IBM true
	// CN=Ann,OU=Sales,O=IBM,C=US false
	// CN=Bob,OU=sales,O=ibm true
}
