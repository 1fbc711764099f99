package tlsregistry

import "fmt"

// Verdict grades an algorithm for use today.
type Verdict int

// Verdicts, from best to worst. VerdictNone is for code points that carry no
// cryptography (signalling values such as TLS_FALLBACK_SCSV).
const (
	VerdictNone Verdict = iota
	Fine
	Weak
	Insecure
)

// String returns "fine", "weak", "insecure" or "n/a".
func (v Verdict) String() string {
	switch v {
	case Fine:
		return "fine"
	case Weak:
		return "weak"
	case Insecure:
		return "insecure"
	}
	return "n/a"
}

// MarshalText makes verdicts readable in JSON.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses the names String returns.
func (v *Verdict) UnmarshalText(b []byte) error {
	switch string(b) {
	case "fine":
		*v = Fine
	case "weak":
		*v = Weak
	case "insecure":
		*v = Insecure
	case "n/a", "":
		*v = VerdictNone
	default:
		return fmt.Errorf("unknown verdict %q (want fine, weak or insecure)", b)
	}
	return nil
}

// assessment collects reasons while a verdict is worked out: the worst
// severity wins and every reason of that severity is kept.
type assessment struct {
	verdict Verdict
	reasons []string
}

func (a *assessment) add(v Verdict, reason string) {
	switch {
	case v > a.verdict:
		a.verdict, a.reasons = v, []string{reason}
	case v == a.verdict:
		a.reasons = append(a.reasons, reason)
	}
}

func (a *assessment) reason() string {
	s := ""
	for i, r := range a.reasons {
		if i > 0 {
			s += "; "
		}
		s += r
	}
	return s
}
