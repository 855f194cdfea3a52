package inspect

import "strings"

// mediaRange is one element of an Accept header: a type, a subtype (either
// may be "*") and a quality in thousandths (0 to 1000).
type mediaRange struct {
	typ, sub string
	q        int
}

// parseAccept parses Accept field lines (RFC 9110 §12.5.1) leniently:
// elements are separated by commas outside quoted strings, parameters by
// semicolons; type and subtype are lower-cased; an element that is not a
// valid "type/subtype" or that has a malformed q is skipped, as if it were
// absent. It never fails.
func parseAccept(lines []string) []mediaRange {
	var out []mediaRange
	for _, line := range lines {
		for len(line) > 0 {
			elem, rest := cutOutsideQuotes(line, ',')
			line = rest
			if mr, ok := parseMediaRange(elem); ok {
				out = append(out, mr)
			}
		}
	}
	return out
}

// parseMediaRange parses `type "/" subtype *( OWS ";" OWS parameter )`.
func parseMediaRange(elem string) (mediaRange, bool) {
	name, params := cutOutsideQuotes(elem, ';')
	typ, sub, ok := strings.Cut(trimOWS(name), "/")
	if !ok || !isToken(typ) || !isToken(sub) || (typ == "*" && sub != "*") {
		return mediaRange{}, false
	}
	mr := mediaRange{typ: strings.ToLower(typ), sub: strings.ToLower(sub), q: 1000}
	for len(params) > 0 {
		var p string
		p, params = cutOutsideQuotes(params, ';')
		k, v, _ := strings.Cut(trimOWS(p), "=")
		if !strings.EqualFold(k, "q") {
			continue
		}
		q, ok := parseQ(v)
		if !ok {
			return mediaRange{}, false
		}
		mr.q = q
		break // parameters after q are accept-ext: ignored
	}
	return mr, true
}

// parseQ parses a qvalue (RFC 9110 §12.4.2): "0" or "1", optionally
// followed by "." and up to three digits, at most 1.
func parseQ(s string) (int, bool) {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole := int(s[0]-'0') * 1000
	frac := s[1:]
	if frac == "" {
		return whole, true
	}
	if frac[0] != '.' || len(frac) > 4 {
		return 0, false
	}
	q, scale := 0, 100
	for i := 1; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if whole == 1000 && q != 0 {
		return 0, false
	}
	return whole + q, true
}

// cutOutsideQuotes splits s at the first sep that is not inside a quoted
// string (where a backslash escapes the next byte). An unterminated quote
// runs to the end.
func cutOutsideQuotes(s string, sep byte) (before, after string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// trimOWS removes optional whitespace (spaces and tabs) at both ends.
func trimOWS(s string) string { return strings.Trim(s, " \t") }

// quality returns the quality the ranges give to typ/sub: that of the most
// specific matching range, the highest if several are equally specific, 0
// if none matches. With no ranges at all, everything is acceptable.
func quality(ranges []mediaRange, typ, sub string) int {
	best, q := -1, 0
	for _, mr := range ranges {
		spec := -1
		switch {
		case mr.typ == typ && mr.sub == sub:
			spec = 2
		case mr.typ == typ && mr.sub == "*":
			spec = 1
		case mr.typ == "*" && mr.sub == "*":
			spec = 0
		}
		switch {
		case spec > best:
			best, q = spec, mr.q
		case spec == best && spec >= 0 && mr.q > q:
			q = mr.q
		}
	}
	if best < 0 && len(ranges) == 0 {
		return 1000
	}
	return q
}

// wantsJSON reports whether the Accept field lines prefer application/json
// to text/html. A tie, a missing Accept or one that accepts neither gets
// HTML: browsers get the page, and JSON is one explicit header away.
func wantsJSON(accept []string) bool {
	if len(accept) == 0 {
		return false
	}
	ranges := parseAccept(accept)
	return quality(ranges, "application", "json") > quality(ranges, "text", "html")
}
