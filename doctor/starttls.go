package doctor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
)

// maxLine bounds one line of an SMTP or IMAP server's plaintext chatter.
const maxLine = 4096

// startTLS speaks the plaintext protocol on conn until the server is ready
// for a TLS ClientHello. Reads and writes are bounded by conn's deadline.
func startTLS(conn net.Conn, proto string) error {
	switch proto {
	case "":
		return nil
	case "ldap":
		return startTLSLDAP(conn)
	case "smtp":
		return startTLSSMTP(conn)
	case "imap":
		return startTLSIMAP(conn)
	case "postgres":
		return startTLSPostgres(conn)
	}
	return fmt.Errorf("unknown STARTTLS protocol %q (want ldap, smtp, imap or postgres)", proto)
}

// ldapStartTLSRequest is the LDAP ExtendedRequest for StartTLS (RFC 4511
// §4.12, §4.14.1; OID 1.3.6.1.4.1.1466.20037) as message ID 1, BER-encoded
// by hand:
//
//	LDAPMessage ::= SEQUENCE { messageID 1, [APPLICATION 23] { [0] requestName } }
var ldapStartTLSRequest = []byte{
	0x30, 0x1d, // SEQUENCE
	0x02, 0x01, 0x01, // messageID INTEGER 1
	0x77, 0x18, // [APPLICATION 23] ExtendedRequest
	0x80, 0x16, // [0] requestName
	'1', '.', '3', '.', '6', '.', '1', '.', '4', '.', '1', '.', '1', '4', '6', '6', '.', '2', '0', '0', '3', '7',
}

func startTLSLDAP(conn net.Conn) error {
	if _, err := conn.Write(ldapStartTLSRequest); err != nil {
		return fmt.Errorf("LDAP StartTLS: send ExtendedRequest: %w", err)
	}
	msg, err := readBER(conn, 64<<10)
	if err != nil {
		return fmt.Errorf("LDAP StartTLS: read ExtendedResponse: %w", err)
	}
	code, diag, err := parseLDAPExtendedResponse(msg)
	if err != nil {
		return fmt.Errorf("LDAP StartTLS: %w", err)
	}
	if code != 0 {
		if diag != "" {
			diag = ": " + diag
		}
		return fmt.Errorf("LDAP StartTLS refused with resultCode %d (%s)%s", code, ldapResultName(code), diag)
	}
	return nil
}

// readBER reads one BER TLV with a definite length of at most limit bytes.
func readBER(r io.Reader, limit int) ([]byte, error) {
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int(hdr[1])
	if hdr[1]&0x80 != 0 {
		k := int(hdr[1] & 0x7f)
		if k == 0 || k > 4 {
			return nil, fmt.Errorf("unsupported BER length form 0x%02x", hdr[1])
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return nil, err
		}
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
		hdr = append(hdr, lb...)
	}
	if n > limit {
		return nil, fmt.Errorf("BER message of %d bytes exceeds the limit of %d", n, limit)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(hdr, body...), nil
}

// berElem splits one TLV off b.
func berElem(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, fmt.Errorf("truncated BER element")
	}
	tag, n, off := b[0], int(b[1]), 2
	if b[1]&0x80 != 0 {
		k := int(b[1] & 0x7f)
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, fmt.Errorf("bad BER length")
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		off += k
	}
	if n < 0 || len(b)-off < n {
		return 0, nil, nil, fmt.Errorf("truncated BER element")
	}
	return tag, b[off : off+n], b[off+n:], nil
}

// parseLDAPExtendedResponse extracts resultCode and diagnosticMessage from
// an LDAPMessage carrying an ExtendedResponse ([APPLICATION 24], RFC 4511
// §4.12) or a Notice of Disconnection.
func parseLDAPExtendedResponse(msg []byte) (code int, diag string, err error) {
	tag, seq, _, err := berElem(msg)
	if err != nil || tag != 0x30 {
		return 0, "", fmt.Errorf("the answer is not an LDAPMessage (%s)", identifyPlaintext(msg))
	}
	tag, _, rest, err := berElem(seq) // messageID
	if err != nil || tag != 0x02 {
		return 0, "", fmt.Errorf("malformed LDAPMessage: no messageID")
	}
	tag, op, _, err := berElem(rest)
	if err != nil {
		return 0, "", fmt.Errorf("malformed LDAPMessage: %w", err)
	}
	if tag != 0x78 {
		return 0, "", fmt.Errorf("expected an ExtendedResponse, got protocolOp tag 0x%02x", tag)
	}
	tag, rc, rest, err := berElem(op)
	if err != nil || tag != 0x0a || len(rc) == 0 || len(rc) > 4 {
		return 0, "", fmt.Errorf("malformed ExtendedResponse: no resultCode")
	}
	for _, b := range rc {
		code = code<<8 | int(b)
	}
	if _, _, rest, err = berElem(rest); err == nil { // matchedDN
		if tag, d, _, err := berElem(rest); err == nil && tag == 0x04 {
			diag = string(d[:min(len(d), 512)])
		}
	}
	return code, diag, nil
}

func ldapResultName(code int) string {
	switch code {
	case 1:
		return "operationsError"
	case 2:
		return "protocolError: the server does not support StartTLS, or TLS is already active"
	case 12:
		return "unavailableCriticalExtension"
	case 52:
		return "unavailable: the server has no certificate configured"
	case 53:
		return "unwillingToPerform"
	case 80:
		return "other"
	}
	return "see RFC 4511 §4.1.9"
}

func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, frag...)
		if len(b) > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// readSMTPReply reads a (possibly multi-line) SMTP reply (RFC 5321 §4.2).
func readSMTPReply(br *bufio.Reader) (string, error) {
	for i := 0; i < 100; i++ {
		line, err := readLine(br)
		if err != nil {
			return "", err
		}
		if len(line) < 3 {
			return "", fmt.Errorf("malformed SMTP reply %q", line)
		}
		if len(line) == 3 || line[3] == ' ' {
			return line, nil
		}
	}
	return "", fmt.Errorf("SMTP reply longer than 100 lines")
}

func startTLSSMTP(conn net.Conn) error {
	// One byte at a time is not needed: the server says nothing after
	// "220 ready to start TLS" until our ClientHello, so a buffered reader
	// cannot swallow TLS bytes.
	br := bufio.NewReaderSize(conn, 512)
	greet, err := readSMTPReply(br)
	if err != nil {
		return fmt.Errorf("SMTP STARTTLS: read greeting: %w", err)
	}
	if !strings.HasPrefix(greet, "220") {
		return fmt.Errorf("SMTP STARTTLS: the server greeted with %q", greet)
	}
	if _, err := io.WriteString(conn, "EHLO pkid.invalid\r\n"); err != nil {
		return fmt.Errorf("SMTP STARTTLS: %w", err)
	}
	ehlo, err := readSMTPReply(br)
	if err != nil || !strings.HasPrefix(ehlo, "250") {
		return fmt.Errorf("SMTP STARTTLS: EHLO answered %q: %v", ehlo, err)
	}
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return fmt.Errorf("SMTP STARTTLS: %w", err)
	}
	rep, err := readSMTPReply(br)
	if err != nil {
		return fmt.Errorf("SMTP STARTTLS: %w", err)
	}
	if !strings.HasPrefix(rep, "220") {
		return fmt.Errorf("SMTP STARTTLS refused: %q", rep)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("SMTP STARTTLS: the server sent data before the TLS handshake")
	}
	return nil
}

func startTLSIMAP(conn net.Conn) error {
	br := bufio.NewReaderSize(conn, 512)
	greet, err := readLine(br)
	if err != nil {
		return fmt.Errorf("IMAP STARTTLS: read greeting: %w", err)
	}
	if !strings.HasPrefix(greet, "* OK") {
		return fmt.Errorf("IMAP STARTTLS: the server greeted with %q", greet)
	}
	if _, err := io.WriteString(conn, "a STARTTLS\r\n"); err != nil {
		return fmt.Errorf("IMAP STARTTLS: %w", err)
	}
	for i := 0; i < 100; i++ {
		line, err := readLine(br)
		if err != nil {
			return fmt.Errorf("IMAP STARTTLS: %w", err)
		}
		if strings.HasPrefix(line, "a ") {
			if !strings.HasPrefix(line, "a OK") {
				return fmt.Errorf("IMAP STARTTLS refused: %q", line)
			}
			if br.Buffered() > 0 {
				return fmt.Errorf("IMAP STARTTLS: the server sent data before the TLS handshake")
			}
			return nil
		}
	}
	return fmt.Errorf("IMAP STARTTLS: no tagged answer")
}

// startTLSPostgres sends PostgreSQL's SSLRequest (length 8, code 80877103)
// and expects 'S'.
func startTLSPostgres(conn net.Conn) error {
	req := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), 80877103)
	if _, err := conn.Write(req); err != nil {
		return fmt.Errorf("PostgreSQL SSLRequest: %w", err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(conn, b); err != nil {
		return fmt.Errorf("PostgreSQL SSLRequest: %w", err)
	}
	switch b[0] {
	case 'S':
		return nil
	case 'N':
		return fmt.Errorf("PostgreSQL refused SSL (answered 'N'): set ssl = on in postgresql.conf")
	}
	return fmt.Errorf("PostgreSQL SSLRequest: unexpected answer %q", bytes.TrimSpace(b))
}
