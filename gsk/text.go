package gsk

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

var kindTitles = map[Kind]string{
	KindCipher:  "cipher suites, 4-hex IANA codes",
	KindCipher2: "cipher specs, 2-hex legacy codes = suites 0x00XX",
	KindSigAlg:  "signature algorithm pairs, 4-hex codes",
	KindGroup:   "named groups, 4-decimal-digit ids",
}

// WriteText renders the report as tables for a terminal: per list the code
// as written, IANA name, OpenSSL name, TLS versions, key exchange and
// authentication (or hash and key type for signatures), and the verdict,
// with the problems found under it.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for i, res := range r.Results {
		if i > 0 {
			b.WriteString("\n")
		}
		name := res.Variable
		if name == "" {
			name = "value"
		}
		var where []string
		if res.Line > 0 {
			where = append(where, fmt.Sprintf("line %d", res.Line))
		}
		title := kindTitles[res.Kind]
		if res.Detected {
			title += ", kind detected: pass --kind to override"
		}
		where = append(where, title)
		fmt.Fprintf(&b, "%s (%s)\n", name, strings.Join(where, "; "))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		col2 := "KX/AUTH"
		if res.Kind == KindSigAlg {
			col2 = "HASH/KEY"
		} else if res.Kind == KindGroup {
			col2 = "TYPE"
		}
		fmt.Fprintf(tw, "  #\tCODE\tIANA NAME\tOPENSSL NAME\tVERSIONS\t%s\tVERDICT\n", col2)
		for _, it := range res.Items {
			iana, ossl, vers, kx := dash(it.IANA), dash(it.OpenSSL), dash(it.Versions), "-"
			if it.OpenSSLLegacy {
				ossl += " (1.x)"
			}
			if !it.Known {
				iana = "(unknown)"
			}
			switch {
			case res.Kind == KindGroup && it.Known:
				kx = it.KeyExchange
			case it.Known:
				kx = it.KeyExchange + "/" + it.Auth
			}
			verdict := it.Verdict
			if it.Verdict == "weak" || it.Verdict == "insecure" {
				verdict += ": " + it.Reason
			}
			if it.Duplicate {
				verdict += " (duplicate)"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Position, it.Code, iana, ossl, vers, kx, verdict)
		}
		tw.Flush()
		if len(res.Problems) > 0 {
			b.WriteString("  problems:\n")
			for _, p := range res.Problems {
				b.WriteString("    " + p.String() + "\n")
			}
		}
	}
	if len(r.Problems) > 0 {
		b.WriteString("\nacross lines:\n")
		for _, p := range r.Problems {
			b.WriteString("  " + p.String() + "\n")
		}
	}
	if len(r.Ignored) > 0 {
		b.WriteString("\nnot decoded:\n")
		for _, ig := range r.Ignored {
			fmt.Fprintf(&b, "  line %d: %s (%s)\n", ig.Line, ig.Text, ig.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String renders the problem for a person: "line 3, position 9: ...".
func (p Problem) String() string {
	var where []string
	if p.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", p.Line))
	}
	if p.Position > 0 {
		where = append(where, fmt.Sprintf("position %d", p.Position))
	}
	if len(where) == 0 {
		return p.Message
	}
	return strings.Join(where, ", ") + ": " + p.Message
}

// ProblemCount is the number of problems in all lists and across them.
func (r *Report) ProblemCount() int {
	n := len(r.Problems)
	for _, res := range r.Results {
		n += len(res.Problems)
	}
	return n
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
