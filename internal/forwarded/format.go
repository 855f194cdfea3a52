package forwarded

import (
	"strconv"
	"strings"

	"github.com/forcehttps/forcehttps/internal/lex"
)

// String formats e as a forwarded-element, its parameters in the order for,
// by, host, proto, values quoted where the grammar requires it. The zero
// Element formats as "". For elements returned by [Parse], parsing the result
// yields e again.
func (e Element) String() string {
	var b strings.Builder
	pair := func(name, val string) {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(name)
		b.WriteByte('=')
		writeValue(&b, val)
	}
	if !e.For.IsZero() {
		pair("for", e.For.String())
	}
	if !e.By.IsZero() {
		pair("by", e.By.String())
	}
	if e.Host != "" {
		pair("host", e.Host)
	}
	if e.Proto != "" {
		pair("proto", e.Proto)
	}
	return b.String()
}

// String returns n.Raw if it is set, and otherwise the node identifier
// described by the other fields (for example "[2001:db8::1]:8080"), unquoted.
// The zero Node formats as "".
func (n Node) String() string {
	if n.Raw != "" {
		return n.Raw
	}
	var s string
	switch {
	case n.Unknown:
		s = "unknown"
	case n.Obfuscated != "":
		s = n.Obfuscated
	case n.Addr.Is4():
		s = n.Addr.String()
	case n.Addr.IsValid():
		s = "[" + n.Addr.String() + "]"
	default:
		return ""
	}
	switch {
	case n.ObfuscatedPort != "":
		s += ":" + n.ObfuscatedPort
	case n.Port != 0:
		s += ":" + strconv.Itoa(int(n.Port))
	}
	return s
}

// writeValue writes v as a token if it is one, else as a quoted-string.
func writeValue(b *strings.Builder, v string) {
	token := v != ""
	for i := 0; i < len(v) && token; i++ {
		token = lex.IsTChar(v[i])
	}
	if token {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}
