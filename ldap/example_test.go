package ldap_test

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/pkid/pkid/ldap"
)

func ExampleParseFilter() {
	f, err := ldap.ParseFilter("(&(objectClass=pkiCA)(cn=SSCA*))")
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Type, len(f.Children), f.Children[1].Type, string(f.Children[1].Initial))
	fmt.Println(f.String())
	// Output:
	// and 2 substrings SSCA
	// (&(objectClass=pkiCA)(cn=SSCA*))
}

// A connection loop reads messages within a size limit and answers
// undecodable ones as the ProtocolError says.
func ExampleReadMessage() {
	req := &ldap.Message{ID: 1, Op: &ldap.SearchRequest{
		BaseObject: "cn=SSCA256,ou=CA,o=SSS,c=GB",
		Filter:     ldap.Filter{Type: ldap.FilterPresent, Attr: "objectClass"},
		Attributes: []string{"certificateRevocationList;binary"},
	}}
	wire, _ := req.Marshal()
	wire = append(wire, 0x30, 0x84, 0x40, 0x00, 0x00, 0x00) // then a 1 GiB claim

	r := bufio.NewReader(bytes.NewReader(wire))
	for {
		m, err := ldap.ReadMessage(r, ldap.DefaultMaxMessageSize)
		if pe, ok := err.(*ldap.ProtocolError); ok {
			if resp := pe.Response(); resp != nil {
				fmt.Println("answer:", resp.Op.(*ldap.SearchResultDone).ResultCode)
				continue
			}
			notice := ldap.NoticeOfDisconnection(pe.Code, "message too large")
			fmt.Println("disconnect:", notice.Op.(*ldap.ExtendedResponse).ResultCode)
			return
		}
		if err != nil {
			return
		}
		s := m.Op.(*ldap.SearchRequest)
		fmt.Println(m.ID, s.BaseObject, s.Scope, s.Filter.String(), s.Attributes)
	}
	// Output:
	// 1 cn=SSCA256,ou=CA,o=SSS,c=GB baseObject (objectClass=*) [certificateRevocationList;binary]
	// disconnect: protocolError
}
