package ocsp

// parseHeadRef is the first, byte-at-a-time parseHead, kept as the
// reference FuzzParseHead compares the table-driven one with. It parses a request head at the start of b, strictly: a request
// line "GET|POST origin-form HTTP/1.1" and header lines ending in CRLF,
// exactly one Host, at most one Content-Length (digits) and Content-Type,
// Connection only keep-alive or close, a Content-Length on every POST and
// none but 0 on a GET, and no header that changes how the request is read
// or answered (Transfer-Encoding, Expect, Upgrade, If-None-Match,
// If-Modified-Since). Anything else is headForeign, for net/http.
func parseHeadRef(b []byte, h *head) int {
	i := indexByteRef(b, '\n')
	if i < 0 {
		if len(b) > 0 && !validStart(b) {
			return headForeign
		}
		return headIncomplete
	}
	if i == 0 || b[i-1] != '\r' {
		return headForeign
	}
	line := b[:i-1]
	switch {
	case hasPrefix(line, "GET "):
		line = line[4:]
	case hasPrefix(line, "POST "):
		h.post = true
		line = line[5:]
	default:
		return headForeign
	}
	sp := indexByteRef(line, ' ')
	if sp <= 0 || string(line[sp+1:]) != "HTTP/1.1" || line[0] != '/' {
		return headForeign
	}
	h.target = line[:sp]
	for _, ch := range h.target {
		if !pathByteRef(ch) {
			return headForeign
		}
	}
	pos := i + 1
	hosts, lengths := 0, 0
	for {
		j := indexByteRef(b[pos:], '\n')
		if j < 0 {
			return headIncomplete
		}
		line := b[pos : pos+j]
		pos += j + 1
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return headForeign
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			break
		}
		colon := indexByteRef(line, ':')
		if colon <= 0 {
			return headForeign
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for _, ch := range name {
			if !tokenByteRef(ch) {
				return headForeign
			}
		}
		for _, ch := range value {
			if ch < ' ' && ch != '\t' || ch == 0x7f || ch >= 0x80 {
				return headForeign
			}
		}
		switch {
		case equalFold(name, "host"):
			hosts++
			for _, ch := range value {
				if !hostByteRef(ch) {
					return headForeign
				}
			}
		case equalFold(name, "content-length"):
			lengths++
			if len(value) == 0 || len(value) > 18 {
				return headForeign
			}
			var n int64
			for _, ch := range value {
				if ch < '0' || ch > '9' {
					return headForeign
				}
				n = n*10 + int64(ch-'0')
			}
			h.contentLength = n
		case equalFold(name, "content-type"):
			if h.contentType != nil {
				return headForeign
			}
			h.contentType = value
		case equalFold(name, "connection"):
			for len(value) > 0 {
				tok := value
				if k := indexByteRef(value, ','); k >= 0 {
					tok, value = value[:k], value[k+1:]
				} else {
					value = nil
				}
				switch tok = trimOWS(tok); {
				case equalFold(tok, "close"):
					h.close = true
				case equalFold(tok, "keep-alive"), len(tok) == 0:
				default:
					return headForeign
				}
			}
		case equalFold(name, "transfer-encoding"), equalFold(name, "expect"), equalFold(name, "upgrade"),
			equalFold(name, "if-none-match"), equalFold(name, "if-modified-since"):
			return headForeign
		}
	}
	if hosts != 1 || lengths > 1 || h.post && lengths == 0 || !h.post && h.contentLength != 0 {
		return headForeign
	}
	h.n = pos
	return headComplete
}

func indexByteRef(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func tokenByteRef(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
		c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~'
}

func pathByteRef(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '/' || c == '%' || c == '-' || c == '.' || c == '_' || c == '~' || c == '!' || c == '$' ||
		c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' ||
		c == '=' || c == ':' || c == '@'
}

func hostByteRef(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'
}
