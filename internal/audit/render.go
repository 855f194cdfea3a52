package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// WriteJSON writes the report as indented JSON followed by a newline. The
// schema is documented in the package documentation.
func WriteJSON(w io.Writer, r *Report) error { return writeIndented(w, r) }

// writeIndented writes v as indented JSON followed by a newline.
func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ANSI styles of the text report.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// textWriter writes styled lines, remembering the first error.
type textWriter struct {
	w     io.Writer
	color bool
	err   error
}

// styled is text that is safe to print as it is: sanitized, with our own
// escape sequences.
type styled string

func (t *textWriter) style(s, codes string) styled {
	s = sanitize(s)
	if !t.color || codes == "" {
		return styled(s)
	}
	return styled(codes + s + ansiReset)
}

// printf formats like fmt.Printf, sanitizing string arguments: the report
// quotes what servers sent (Location headers, certificate names), which
// must not drive the terminal.
func (t *textWriter) printf(format string, args ...any) {
	if t.err != nil {
		return
	}
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = sanitize(v)
		case styled:
			args[i] = string(v)
		}
	}
	_, t.err = fmt.Fprintf(t.w, format, args...)
}

// sanitize replaces control characters and invalid UTF-8 with escapes.
func sanitize(s string) string {
	var b *strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		bad := (r == utf8.RuneError && size == 1) || unicode.IsControl(r)
		if bad && b == nil {
			b = &strings.Builder{}
			b.WriteString(s[:i])
		}
		switch {
		case b == nil:
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, "\\x%02x", s[i])
		case bad:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	if b == nil {
		return s
	}
	return b.String()
}

// severityStyle returns the label and colour of a severity.
func severityStyle(s Severity) (string, string) {
	switch s {
	case Pass:
		return "PASS", ansiGreen
	case Info:
		return "INFO", ansiCyan
	case Warn:
		return "WARN", ansiYellow
	}
	return "FAIL", ansiRed + ansiBold
}

// gradeStyle returns the colour of a grade.
func gradeStyle(g Grade) string {
	switch {
	case g.AtLeast(GradeAMinus):
		return ansiGreen + ansiBold
	case g.AtLeast(GradeBMinus):
		return ansiYellow + ansiBold
	}
	return ansiRed + ansiBold
}

// WriteText writes the report for a terminal: grade, redirect chains, TLS,
// then the findings by category with their modifiers and fixes. color adds
// ANSI colours; leave it off unless w is a terminal.
func WriteText(w io.Writer, r *Report, color bool) error {
	t := &textWriter{w: w, color: color}
	t.printf("%s %s\n", t.style("forcehttps check", ansiBold), r.Target)
	switch r.HTTPSPortSource {
	case PortRedirect:
		t.printf("%s\n", t.style("HTTPS port taken from the plain-HTTP redirect", ansiDim))
	case PortDefault:
		t.printf("%s\n", t.style("HTTPS port 443: the plain-HTTP redirects name no https URL on this host", ansiDim))
	}
	t.printf("%s\n\n", t.style("checked "+r.CheckedAt.UTC().Format(time.RFC3339), ansiDim))
	writeGrade(t, r)

	t.printf("\n%s\n", t.style("Redirects", ansiBold))
	writeChain(t, "from plain HTTP", &r.HTTP)
	writeChain(t, "from HTTPS", &r.HTTPS)

	t.printf("\n%s %s\n", t.style("TLS", ansiBold), r.TLS.Address)
	if r.TLS.Error != "" {
		t.printf("  %s\n", t.style("no HTTPS: "+r.TLS.Error, ansiRed))
	} else {
		writeTLS(t, r)
	}

	t.printf("\n%s\n", t.style("Findings", ansiBold))
	for _, cat := range Categories() {
		first := true
		for _, f := range r.Findings {
			if f.Category != cat {
				continue
			}
			if first {
				t.printf("  %s\n", t.style(string(cat), ansiBold))
				first = false
			}
			writeFinding(t, &f)
		}
	}
	t.printf("\n")
	writeGrade(t, r)
	return t.err
}

// writeTLS writes the TLS section: versions, suites, certificate.
func writeTLS(t *textWriter, r *Report) {
	var vs []string
	for _, v := range r.TLS.Versions {
		state := "no"
		switch {
		case v.Offered:
			state = "yes"
		case v.Error != "":
			state = "unknown"
		}
		vs = append(vs, v.Name+" "+state)
	}
	t.printf("  %-12s %s\n", "versions", strings.Join(vs, " · "))
	for _, v := range r.TLS.Versions {
		if len(v.Suites) > 0 {
			t.printf("  %-12s %s\n", v.Name, strings.Join(v.Suites, ", "))
		}
		if len(v.SuitesUnknown) > 0 {
			t.printf("  %-12s %s\n", "", "could not tell: "+strings.Join(v.SuitesUnknown, ", "))
		}
	}
	neg := r.TLS.Version + ", " + r.TLS.CipherSuite
	if r.TLS.ALPN != "" {
		neg += ", ALPN " + r.TLS.ALPN
	}
	t.printf("  %-12s %s\n", "negotiated", neg)
	if c := r.TLS.Certificate; c != nil {
		t.printf("  %-12s %s, issued by %s\n", "certificate", c.Subject, c.Issuer)
		t.printf("  %-12s %s to %s (%d days left), %s\n", "", c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly), c.DaysLeft, c.Key)
		names := append(append([]string{}, c.DNSNames...), c.IPAddresses...)
		t.printf("  %-12s %s\n", "names", strings.Join(names, ", "))
	}
	verified := t.style("valid", ansiGreen)
	if !r.TLS.Verified {
		verified = t.style("does not verify", ansiRed)
	}
	t.printf("  %-12s %s\n", "chain", verified)
	ocsp := "not stapled"
	if r.TLS.OCSPStapled {
		ocsp = "stapled"
	}
	t.printf("  %-12s %s\n", "OCSP", ocsp)
}

func writeGrade(t *textWriter, r *Report) {
	t.printf("%s %s  score %d", t.style("Grade", ansiBold), t.style(string(r.Grade), gradeStyle(r.Grade)), r.Score)
	switch {
	case r.Score != r.BaseScore:
		t.printf(" (%d before bonuses)", r.BaseScore)
	case r.BaseScore < BonusThreshold:
		t.printf(" (below %d: no bonuses)", BonusThreshold)
	}
	t.printf("\n")
	if len(r.CappedBy) > 0 {
		t.printf("  capped from %s by %s\n", r.ScoreGrade, strings.Join(r.CappedBy, ", "))
	}
	counts := map[Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	t.printf("  %d fail, %d warn, %d info, %d pass\n", counts[Fail], counts[Warn], counts[Info], counts[Pass])
}

func writeChain(t *textWriter, label string, c *Chain) {
	t.printf("  %s %s\n", label, c.Start)
	for i, h := range c.Hops {
		line := fmt.Sprintf("%d %s", h.Status, h.URL)
		if h.Location != "" {
			line += " → " + clip(h.Location)
		}
		if len(h.HSTS) > 0 {
			line += "  [HSTS]"
		}
		t.printf("    %d. %s\n", i+1, line)
		if h.CertError != "" {
			t.printf("       %s\n", t.style("certificate: "+h.CertError, ansiRed))
		}
	}
	if c.Error != "" {
		t.printf("    %s\n", t.style("no answer: "+c.Error, ansiYellow))
	}
	if c.Loop {
		t.printf("    %s\n", t.style("loop: the last redirect goes back to a URL already visited", ansiRed))
	}
}

func writeFinding(t *textWriter, f *Finding) {
	label, color := severityStyle(f.Severity)
	mod := ""
	switch {
	case f.Modifier != 0 && f.Counted:
		mod = fmt.Sprintf("%+d", f.Modifier)
	case f.Modifier != 0:
		mod = fmt.Sprintf("(%+d)", f.Modifier)
	}
	id := f.ID
	if f.Cap != "" {
		id += "  [caps grade at " + string(f.Cap) + "]"
	}
	t.printf("    %s %5s  %s\n", t.style(label, color), mod, t.style(id, ansiBold))
	t.printf("               %s\n", f.Message)
	if f.Fix != "" {
		t.printf("               %s %s\n", t.style("fix:", ansiDim), f.Fix)
	}
}

// Failure is the JSON report of an audit that could not be made: a usage
// error, or a site that cannot be audited (see [Run]'s errors).
type Failure struct {
	// SchemaVersion is [SchemaVersion].
	SchemaVersion int `json:"schema_version"`
	// Target is the HTTPS URL that was to be audited, if known.
	Target string `json:"target,omitempty"`
	// Host is the host, if known.
	Host string `json:"host,omitempty"`
	// CheckedAt is when the audit started.
	CheckedAt time.Time `json:"checked_at"`
	// Error says what went wrong.
	Error FailureError `json:"error"`
}

// FailureError is the error of a [Failure].
type FailureError struct {
	// Kind is one of usage, target, unreachable, timeout, handshake,
	// response, redirects, interrupted or internal.
	Kind string `json:"kind"`
	// Message is the error message.
	Message string `json:"message"`
}

// ErrorKind returns the Kind of a [FailureError] for an error of [Run] or
// [ParseTarget]: the sentinel it wraps, "interrupted" for a cancelled
// context, or "internal".
func ErrorKind(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, ErrTarget):
		return "target"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrUnreachable):
		return "unreachable"
	case errors.Is(err, ErrHandshake):
		return "handshake"
	case errors.Is(err, ErrResponse):
		return "response"
	case errors.Is(err, ErrRedirects):
		return "redirects"
	}
	return "internal"
}

// WriteFailureJSON writes f as indented JSON followed by a newline.
func WriteFailureJSON(w io.Writer, f *Failure) error {
	f.SchemaVersion = SchemaVersion
	f.CheckedAt = f.CheckedAt.UTC().Truncate(time.Second)
	return writeIndented(w, f)
}
