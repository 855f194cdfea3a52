package forwarded

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Node constructors for expected values, written out field by field so the
// tests do not depend on the code under test.

func ip(raw, addr string, port uint16) Node {
	return Node{Addr: netip.MustParseAddr(addr), Port: port, Raw: raw}
}

func obf(raw, name string) Node { return Node{Obfuscated: name, Raw: raw} }

func unknown(raw string) Node { return Node{Unknown: true, Raw: raw} }

type parseTest struct {
	name  string
	lines []string
	want  []Element
	err   error // sentinel the error must wrap; nil for success
}

var parseTests = []parseTest{
	// RFC 7239 examples.
	{
		name:  "rfc7239 s4 obfuscated quoted",
		lines: []string{`for="_gazonk"`},
		want:  []Element{{For: obf("_gazonk", "_gazonk")}},
	},
	{
		name:  "rfc7239 s4 ipv6 with port mixed case name",
		lines: []string{`For="[2001:db8:cafe::17]:4711"`},
		want:  []Element{{For: ip("[2001:db8:cafe::17]:4711", "2001:db8:cafe::17", 4711)}},
	},
	{
		name:  "rfc7239 s4 for proto by",
		lines: []string{`for=192.0.2.60;proto=http;by=203.0.113.43`},
		want: []Element{{
			For:   ip("192.0.2.60", "192.0.2.60", 0),
			By:    ip("203.0.113.43", "203.0.113.43", 0),
			Proto: "http",
		}},
	},
	{
		name:  "rfc7239 s4 two elements",
		lines: []string{`for=192.0.2.43, for=198.51.100.17`},
		want:  []Element{{For: ip("192.0.2.43", "192.0.2.43", 0)}, {For: ip("198.51.100.17", "198.51.100.17", 0)}},
	},
	{
		name:  "rfc7239 s6 ipv4 with port",
		lines: []string{`for="192.0.2.43:47011"`},
		want:  []Element{{For: ip("192.0.2.43:47011", "192.0.2.43", 47011)}},
	},
	{
		name:  "rfc7239 s6 ipv6 with port",
		lines: []string{`for="[2001:db8:cafe::17]:47011"`},
		want:  []Element{{For: ip("[2001:db8:cafe::17]:47011", "2001:db8:cafe::17", 47011)}},
	},
	{
		name:  "rfc7239 s6.3 obfuscated",
		lines: []string{`for=_hidden, for=_SEVKISEK`},
		want:  []Element{{For: obf("_hidden", "_hidden")}, {For: obf("_SEVKISEK", "_SEVKISEK")}},
	},
	{
		name:  "rfc7239 s7.1 no spaces",
		lines: []string{`for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown`},
		want:  rfc71,
	},
	{
		name:  "rfc7239 s7.1 spaces",
		lines: []string{`for=192.0.2.43, for="[2001:db8:cafe::17]", for=unknown`},
		want:  rfc71,
	},
	{
		name:  "rfc7239 s7.1 two lines",
		lines: []string{`for=192.0.2.43`, `for="[2001:db8:cafe::17]", for=unknown`},
		want:  rfc71,
	},
	{
		name:  "rfc7239 s7.4 transition",
		lines: []string{`for=192.0.2.43, for="[2001:db8:cafe::17]"`},
		want:  rfc71[:2],
	},
	{
		name:  "rfc7239 s7.5 example usage",
		lines: []string{`for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com`},
		want: []Element{
			{For: ip("192.0.2.43", "192.0.2.43", 0)},
			{
				For:   ip("198.51.100.17", "198.51.100.17", 0),
				By:    ip("203.0.113.60", "203.0.113.60", 0),
				Host:  "example.com",
				Proto: "http",
			},
		},
	},

	// Nodes.
	{
		name:  "ipv6 quoted without port",
		lines: []string{`for="[2001:db8::1]"`},
		want:  []Element{{For: ip("[2001:db8::1]", "2001:db8::1", 0)}},
	},
	{
		name:  "ipv6 upper case kept raw",
		lines: []string{`for="[2001:DB8::1]"`},
		want:  []Element{{For: ip("[2001:DB8::1]", "2001:db8::1", 0)}},
	},
	{
		name:  "ipv4 mapped ipv6 kept as sent",
		lines: []string{`for="[::ffff:192.0.2.1]"`},
		want:  []Element{{For: ip("[::ffff:192.0.2.1]", "::ffff:192.0.2.1", 0)}},
	},
	{name: "ipv6 unquoted", lines: []string{`for=[2001:db8::1]`}, err: ErrSyntax},
	{name: "ipv6 unquoted bare", lines: []string{`for=2001:db8::1`}, err: ErrSyntax},
	{name: "ipv6 quoted unbracketed", lines: []string{`for="2001:db8:cafe::17"`}, err: ErrSyntax},
	{name: "ipv6 missing close bracket", lines: []string{`for="[2001:db8::1"`}, err: ErrSyntax},
	{name: "ipv6 junk after bracket", lines: []string{`for="[2001:db8::1]x"`}, err: ErrSyntax},
	{name: "ipv6 zone", lines: []string{`for="[fe80::1%eth0]"`}, err: ErrSyntax},
	{name: "ipv4 in brackets", lines: []string{`for="[192.0.2.1]"`}, err: ErrSyntax},
	{name: "ipv4 with port unquoted", lines: []string{`for=192.0.2.43:47011`}, err: ErrSyntax},
	{name: "ipv4 leading zero", lines: []string{`for=192.0.2.010`}, err: ErrSyntax},
	{name: "ipv4 three octets", lines: []string{`for=192.0.2`}, err: ErrSyntax},
	{name: "ipv4 five octets", lines: []string{`for=192.0.2.1.5`}, err: ErrSyntax},
	{name: "ipv4 octet too large", lines: []string{`for=256.0.2.1`}, err: ErrSyntax},
	{name: "hostname as node", lines: []string{`for=example.com`}, err: ErrSyntax},
	{
		name:  "unknown",
		lines: []string{`by=unknown`},
		want:  []Element{{By: unknown("unknown")}},
	},
	{
		name:  "unknown upper case",
		lines: []string{`for=UNKNOWN`},
		want:  []Element{{For: unknown("UNKNOWN")}},
	},
	{
		name:  "unknown with port",
		lines: []string{`for="unknown:8080"`},
		want:  []Element{{For: Node{Unknown: true, Port: 8080, Raw: "unknown:8080"}}},
	},
	{
		name:  "unknown with obfuscated port",
		lines: []string{`for="unknown:_p1"`},
		want:  []Element{{For: Node{Unknown: true, ObfuscatedPort: "_p1", Raw: "unknown:_p1"}}},
	},
	{
		name:  "obfuscated port on ipv4",
		lines: []string{`for="10.0.0.1:_abc"`},
		want:  []Element{{For: Node{Addr: netip.MustParseAddr("10.0.0.1"), ObfuscatedPort: "_abc", Raw: "10.0.0.1:_abc"}}},
	},
	{
		name:  "obfuscated port on ipv6",
		lines: []string{`for="[2001:db8::1]:_x-y.z"`},
		want:  []Element{{For: Node{Addr: netip.MustParseAddr("2001:db8::1"), ObfuscatedPort: "_x-y.z", Raw: "[2001:db8::1]:_x-y.z"}}},
	},
	{
		name:  "obfuscated node and port",
		lines: []string{`by="_node.1:_port_2"`},
		want:  []Element{{By: Node{Obfuscated: "_node.1", ObfuscatedPort: "_port_2", Raw: "_node.1:_port_2"}}},
	},
	{
		name:  "quoted pair in node",
		lines: []string{`for="\_hid\den"`},
		want:  []Element{{For: obf("_hidden", "_hidden")}},
	},
	{name: "obfuscated empty", lines: []string{`for=_`}, err: ErrSyntax},
	{name: "obfuscated bad char", lines: []string{`for=_a+b`}, err: ErrSyntax},
	{name: "obfuscated port empty", lines: []string{`for="10.0.0.1:_"`}, err: ErrSyntax},
	{name: "obfuscated port bad char", lines: []string{`for="10.0.0.1:_a~"`}, err: ErrSyntax},
	{name: "node without underscore", lines: []string{`for=hidden`}, err: ErrSyntax},
	{name: "node two ports", lines: []string{`for="10.0.0.1:80:81"`}, err: ErrSyntax},
	{name: "node empty quoted", lines: []string{`for=""`}, err: ErrSyntax},

	// Ports.
	{
		name:  "port max",
		lines: []string{`for="192.0.2.1:65535"`},
		want:  []Element{{For: ip("192.0.2.1:65535", "192.0.2.1", 65535)}},
	},
	{
		name:  "port min",
		lines: []string{`for="192.0.2.1:1"`},
		want:  []Element{{For: ip("192.0.2.1:1", "192.0.2.1", 1)}},
	},
	{name: "port zero", lines: []string{`for="192.0.2.1:0"`}, err: ErrSyntax},
	{name: "port too large", lines: []string{`for="192.0.2.1:65536"`}, err: ErrSyntax},
	{name: "port six digits", lines: []string{`for="192.0.2.1:100000"`}, err: ErrSyntax},
	{name: "port plus sign", lines: []string{`for="192.0.2.1:+1"`}, err: ErrSyntax},
	{name: "port minus sign", lines: []string{`for="192.0.2.1:-1"`}, err: ErrSyntax},
	{name: "port leading zero", lines: []string{`for="192.0.2.1:080"`}, err: ErrSyntax},
	{name: "port empty", lines: []string{`for="192.0.2.1:"`}, err: ErrSyntax},
	{name: "port hex", lines: []string{`for="192.0.2.1:0x50"`}, err: ErrSyntax},
	{name: "port on ipv6 zero", lines: []string{`for="[2001:db8::1]:0"`}, err: ErrSyntax},

	// Parameter names and proto.
	{
		name:  "mixed case names and proto",
		lines: []string{`FOR=192.0.2.1;By=_proxy;HoSt=Example.COM;PROTO=HTTPS`},
		want: []Element{{
			For:   ip("192.0.2.1", "192.0.2.1", 0),
			By:    obf("_proxy", "_proxy"),
			Host:  "Example.COM",
			Proto: "https",
		}},
	},
	{
		name:  "proto quoted",
		lines: []string{`proto="https"`},
		want:  []Element{{Proto: "https"}},
	},
	{
		name:  "proto other scheme",
		lines: []string{`proto=Git+SSH.v-2`},
		want:  []Element{{Proto: "git+ssh.v-2"}},
	},
	{
		name:  "proto single letter",
		lines: []string{`proto=h`},
		want:  []Element{{Proto: "h"}},
	},
	{name: "proto leading digit", lines: []string{`proto=1http`}, err: ErrSyntax},
	{name: "proto leading plus", lines: []string{`proto=+http`}, err: ErrSyntax},
	{name: "proto with colon", lines: []string{`proto="https:"`}, err: ErrSyntax},
	{name: "proto with space", lines: []string{`proto="ht tp"`}, err: ErrSyntax},
	{name: "proto empty quoted", lines: []string{`proto=""`}, err: ErrSyntax},
	{name: "proto with underscore", lines: []string{`proto=http_s`}, err: ErrSyntax},

	// Host.
	{
		name:  "host with port",
		lines: []string{`host="example.com:8443"`},
		want:  []Element{{Host: "example.com:8443"}},
	},
	{
		name:  "host ipv6 literal with port",
		lines: []string{`host="[2001:db8::1]:443"`},
		want:  []Element{{Host: "[2001:db8::1]:443"}},
	},
	{
		name:  "host ipv4",
		lines: []string{`host=192.0.2.1`},
		want:  []Element{{Host: "192.0.2.1"}},
	},
	{
		name:  "host percent encoded and sub-delims",
		lines: []string{`host="ex%41mple!$&'()*+=.com"`},
		want:  []Element{{Host: "ex%41mple!$&'()*+=.com"}},
	},
	{name: "host empty", lines: []string{`host=""`}, err: ErrSyntax},
	{name: "host space", lines: []string{`host="a b"`}, err: ErrSyntax},
	{name: "host slash", lines: []string{`host="a/b"`}, err: ErrSyntax},
	{name: "host userinfo", lines: []string{`host="user@example.com"`}, err: ErrSyntax},
	{name: "host backslash", lines: []string{`host="a\\b"`}, err: ErrSyntax},
	{name: "host quote", lines: []string{`host="a\"b"`}, err: ErrSyntax},
	{name: "host semicolon", lines: []string{`host="a;b"`}, err: ErrSyntax},
	{name: "host comma", lines: []string{`host="a,b"`}, err: ErrSyntax},
	{name: "host tab", lines: []string{"host=\"a\tb\""}, err: ErrSyntax},
	{name: "host bad percent", lines: []string{`host="a%zz"`}, err: ErrSyntax},
	{name: "host short percent", lines: []string{`host="a%4"`}, err: ErrSyntax},
	{name: "host only port", lines: []string{`host=":80"`}, err: ErrSyntax},
	{name: "host empty port", lines: []string{`host="a:"`}, err: ErrSyntax},
	{name: "host port too large", lines: []string{`host="a:65536"`}, err: ErrSyntax},
	{name: "host two colons", lines: []string{`host="a:1:2"`}, err: ErrSyntax},
	{name: "host unclosed ipv6", lines: []string{`host="[::1"`}, err: ErrSyntax},
	{name: "host ipv6 zone", lines: []string{`host="[fe80::1%25eth0]"`}, err: ErrSyntax},
	{name: "host ipvfuture", lines: []string{`host="[v1.x]"`}, err: ErrSyntax},

	// Extensions.
	{
		name:  "extension ignored",
		lines: []string{`for=192.0.2.1;secret="a b";x-y=z`},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0)}},
	},
	{
		name:  "extension only element kept as zero",
		lines: []string{`ext=1, for=192.0.2.1`},
		want:  []Element{{}, {For: ip("192.0.2.1", "192.0.2.1", 0)}},
	},
	{name: "extension value not a token", lines: []string{`ext=a/b`}, err: ErrSyntax},
	{name: "extension name not a token", lines: []string{`e(x)=1`}, err: ErrSyntax},

	// Separators, whitespace and empty elements.
	{name: "no lines", lines: nil, want: nil},
	{name: "empty line", lines: []string{""}, want: nil},
	{name: "empty lines", lines: []string{"", " ", "\t"}, want: nil},
	{name: "only commas", lines: []string{" , ,, "}, want: nil},
	{name: "only semicolons", lines: []string{";", " ; ; ", ";,;"}, want: nil},
	{
		name:  "leading empty element",
		lines: []string{`,for=192.0.2.1`},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0)}},
	},
	{
		name:  "empty elements between and after",
		lines: []string{` for=192.0.2.1 ,, ,for=192.0.2.2, `},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0)}, {For: ip("192.0.2.2", "192.0.2.2", 0)}},
	},
	{
		name:  "trailing and doubled semicolons",
		lines: []string{`;for=192.0.2.1;;proto=https;`},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0), Proto: "https"}},
	},
	{
		name:  "whitespace around semicolon tolerated",
		lines: []string{"for=192.0.2.1 ; proto=https\t;\tby=_p"},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0), By: obf("_p", "_p"), Proto: "https"}},
	},
	{
		name:  "tabs around comma",
		lines: []string{"\tfor=192.0.2.1\t,\tfor=192.0.2.2\t"},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0)}, {For: ip("192.0.2.2", "192.0.2.2", 0)}},
	},
	{
		name:  "lines with empty members merged",
		lines: []string{"for=192.0.2.1,", "", ",proto=https"},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0)}, {Proto: "https"}},
	},
	{name: "space before equals", lines: []string{`for =192.0.2.1`}, err: ErrSyntax},
	{name: "space after equals", lines: []string{`for= 192.0.2.1`}, err: ErrSyntax},
	{name: "spaces around equals", lines: []string{`for = 192.0.2.1`}, err: ErrSyntax},
	{name: "tab after equals", lines: []string{"proto=\thttps"}, err: ErrSyntax},
	{name: "missing semicolon", lines: []string{`for=192.0.2.1 proto=https`}, err: ErrSyntax},
	{name: "garbage after quoted value", lines: []string{`for="192.0.2.1"x`}, err: ErrSyntax},
	{name: "two equals", lines: []string{`proto=https=1`}, err: ErrSyntax},
	{name: "missing value", lines: []string{`for=`}, err: ErrSyntax},
	{name: "missing value before semicolon", lines: []string{`for=;proto=https`}, err: ErrSyntax},
	{name: "missing value before comma", lines: []string{`for=,proto=https`}, err: ErrSyntax},
	{name: "missing name", lines: []string{`=192.0.2.1`}, err: ErrSyntax},
	{name: "name without value", lines: []string{`for`}, err: ErrSyntax},
	{name: "name without equals", lines: []string{`for;proto=https`}, err: ErrSyntax},
	{name: "bare word after valid element", lines: []string{`for=192.0.2.1, https`}, err: ErrSyntax},

	// Duplicates.
	{name: "duplicate for", lines: []string{`for=192.0.2.1;for=192.0.2.2`}, err: ErrDuplicateParam},
	{name: "duplicate differing case", lines: []string{`proto=http;PROTO=https`}, err: ErrDuplicateParam},
	{name: "duplicate extension", lines: []string{`x=1;for=192.0.2.1;X=2`}, err: ErrDuplicateParam},
	{name: "duplicate host", lines: []string{`host=a;host=b`}, err: ErrDuplicateParam},
	{
		name:  "same parameter in different elements",
		lines: []string{`proto=http, proto=https`},
		want:  []Element{{Proto: "http"}, {Proto: "https"}},
	},

	// Quoted strings and injection (CVE-2026-32762).
	{name: "semicolon injection in for", lines: []string{`for="x;proto=https"`}, err: ErrSyntax},
	{name: "semicolon injection in obfuscated for", lines: []string{`for="_x;proto=https;host=evil.example"`}, err: ErrSyntax},
	{name: "semicolon injection in host", lines: []string{`host="evil.example;proto=https"`}, err: ErrSyntax},
	{name: "comma injection in for", lines: []string{`for="192.0.2.1,for=10.0.0.1"`}, err: ErrSyntax},
	{name: "quote injection in by", lines: []string{`by="_a\";proto=https"`}, err: ErrSyntax},
	{
		name:  "semicolon injection in extension is inert",
		lines: []string{`for=192.0.2.1;x="y;proto=https;host=evil.example"`},
		want:  []Element{{For: ip("192.0.2.1", "192.0.2.1", 0)}},
	},
	{
		name:  "comma injection in extension is inert",
		lines: []string{`x="a, proto=https", for=192.0.2.1`},
		want:  []Element{{}, {For: ip("192.0.2.1", "192.0.2.1", 0)}},
	},
	{
		name:  "escaped quote in extension is inert",
		lines: []string{`x="a\";proto=https"`},
		want:  []Element{{}},
	},
	{
		name:  "escaped backslash closes the string",
		lines: []string{`x="a\\";proto=https`},
		want:  []Element{{Proto: "https"}},
	},
	{name: "unterminated quote", lines: []string{`for="192.0.2.1`}, err: ErrSyntax},
	{name: "unterminated quote after escaped quote", lines: []string{`x="abc\"`}, err: ErrSyntax},
	{name: "unterminated quote trailing backslash", lines: []string{`x="abc\`}, err: ErrSyntax},
	{name: "lone quote", lines: []string{`"`}, err: ErrSyntax},
	{name: "quoted string does not span lines", lines: []string{`x="a`, `b"`}, err: ErrSyntax},
	{name: "quoted string as name", lines: []string{`"for"=192.0.2.1`}, err: ErrSyntax},

	// Bytes outside the grammar.
	{name: "nul in token", lines: []string{"for=192.0.2.1\x00"}, err: ErrSyntax},
	{name: "nul in quoted string", lines: []string{"x=\"a\x00b\""}, err: ErrSyntax},
	{name: "cr in quoted string", lines: []string{"x=\"a\rb\""}, err: ErrSyntax},
	{name: "lf in line", lines: []string{"for=192.0.2.1\nproto=https"}, err: ErrSyntax},
	{name: "del in quoted string", lines: []string{"x=\"a\x7fb\""}, err: ErrSyntax},
	{name: "escaped control", lines: []string{"x=\"a\\\x01\""}, err: ErrSyntax},
	{name: "non-ascii token", lines: []string{"for=_h\u00e9"}, err: ErrSyntax},
	{name: "non-ascii quoted obs-text", lines: []string{"x=\"caf\u00e9\""}, err: ErrSyntax},
	{name: "escaped obs-text", lines: []string{"x=\"\\\xff\""}, err: ErrSyntax},
	{name: "invalid utf-8 name", lines: []string{"\xffor=192.0.2.1"}, err: ErrSyntax},
	{name: "vertical tab as whitespace", lines: []string{"for=192.0.2.1\v,for=192.0.2.2"}, err: ErrSyntax},
	{
		name:  "tab and space inside quoted extension",
		lines: []string{"x=\"a\t b\""},
		want:  []Element{{}},
	},

	// Bounds.
	{name: "oversize single line", lines: []string{"for=_" + strings.Repeat("a", MaxLength)}, err: ErrTooMany},
	{name: "oversize many lines", lines: slices.Repeat([]string{""}, MaxLength+2), err: ErrTooMany},
	{
		name:  "max length accepted",
		lines: []string{"for=_" + strings.Repeat("a", MaxLength-5)},
		want:  []Element{{For: obf("_"+strings.Repeat("a", MaxLength-5), "_"+strings.Repeat("a", MaxLength-5))}},
	},
	{
		name:  "max elements accepted",
		lines: []string{strings.Repeat("for=_a,", MaxElements)},
		want:  slices.Repeat([]Element{{For: obf("_a", "_a")}}, MaxElements),
	},
	{name: "too many elements", lines: []string{strings.Repeat("for=_a,", MaxElements+1)}, err: ErrTooMany},
	{name: "too many elements across lines", lines: slices.Repeat([]string{"for=_a"}, MaxElements+1), err: ErrTooMany},
	{
		name:  "empty elements do not count",
		lines: []string{strings.Repeat(",", 1000) + strings.Repeat("for=_a,,", MaxElements)},
		want:  slices.Repeat([]Element{{For: obf("_a", "_a")}}, MaxElements),
	},
	{name: "too many parameters", lines: []string{extParams(MaxParams + 1)}, err: ErrTooMany},
	{
		name:  "max parameters accepted",
		lines: []string{extParams(MaxParams)},
		want:  []Element{{}},
	},
}

var rfc71 = []Element{
	{For: ip("192.0.2.43", "192.0.2.43", 0)},
	{For: ip("[2001:db8:cafe::17]", "2001:db8:cafe::17", 0)},
	{For: unknown("unknown")},
}

// extParams returns an element with n distinct extension parameters.
func extParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "x%d=%d;", i, i)
	}
	return b.String()
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.lines)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.lines, err, tt.err)
				}
				if got != nil {
					t.Errorf("Parse(%q) = %v with error, want nil", tt.lines, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) unexpected error: %v", tt.lines, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.lines, got, tt.want)
			}
			if len(tt.want) == 0 && got != nil {
				t.Errorf("Parse(%q) = %#v, want nil", tt.lines, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		lines    []string
		offset   int    // SyntaxError offset, -1 if not a SyntaxError
		contains string // substring of the message
	}{
		{"smuggled value quoted", []string{`for="x;proto=https"`}, 4, `invalid node "x;proto=https" in parameter "for"`},
		{"offset in second line", []string{`for=192.0.2.1`, `for=x`}, 18, `invalid node "x"`},
		{"offset after empty line", []string{``, `by=_a;by=_b`}, -1, `duplicate parameter "by" at offset 7`},
		{"unterminated points at quote", []string{`proto=https;x="abc`}, 14, "unterminated quoted-string"},
		{"space before equals", []string{`for =_a`}, 3, `whitespace before "=" after parameter name "for"`},
		{"space after equals", []string{`for= _a`}, 4, `whitespace after "="`},
		{"control byte quoted", []string{"x=\"\x01\""}, 3, `invalid character "\x01" in quoted-string`},
		{"non-ascii quoted", []string{"for=\xc3\xa9"}, 4, `unexpected "\xc3" in value of parameter "for"`},
		{"missing semicolon", []string{`for=_a proto=http`}, 7, `missing ";" before "p"`},
		{"long value clipped", []string{`host="` + strings.Repeat("/", 200) + `"`}, 5, `invalid host "` + strings.Repeat("/", 64) + `..."`},
		{"too many elements", []string{strings.Repeat("proto=http,", MaxElements+1)}, -1, "forwarded: input exceeds limits: more than 64 elements"},
		{"too long", []string{strings.Repeat(" ", MaxLength+1)}, -1, "forwarded: input exceeds limits: field longer than 8192 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.lines)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error", tt.lines)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "forwarded: ") {
				t.Errorf("error %q lacks package prefix", msg)
			}
			if !strings.Contains(msg, tt.contains) {
				t.Errorf("error %q does not contain %q", msg, tt.contains)
			}
			var se *SyntaxError
			isSyntax := errors.As(err, &se)
			if tt.offset < 0 {
				if isSyntax {
					t.Errorf("error %v is a *SyntaxError, want another kind", err)
				}
				return
			}
			if !isSyntax {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d (error %v)", se.Offset, tt.offset, err)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("*SyntaxError does not wrap ErrSyntax")
			}
		})
	}
}

func TestNodeIsZero(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		node Node
		want bool
	}{
		{"zero", Node{}, true},
		{"unknown", Node{Unknown: true}, false},
		{"raw only", Node{Raw: "x"}, false},
		{"addr", Node{Addr: netip.MustParseAddr("192.0.2.1")}, false},
		{"port", Node{Port: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.node.IsZero(); got != tt.want {
				t.Errorf("%#v.IsZero() = %v, want %v", tt.node, got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		elem Element
		want string
	}{
		{"zero", Element{}, ""},
		{"all fields", Element{
			For:   ip("[2001:db8::1]:4711", "2001:db8::1", 4711),
			By:    obf("_p", "_p"),
			Host:  "example.com:8080",
			Proto: "https",
		}, `for="[2001:db8::1]:4711";by=_p;host="example.com:8080";proto=https`},
		{"token values", Element{For: ip("192.0.2.1", "192.0.2.1", 0), Host: "example.com"}, `for=192.0.2.1;host=example.com`},
		{"node from fields ipv4 port", Element{For: Node{Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}}, `for="192.0.2.1:80"`},
		{"node from fields ipv6", Element{By: Node{Addr: netip.MustParseAddr("2001:db8::1")}}, `by="[2001:db8::1]"`},
		{"node from fields unknown", Element{For: Node{Unknown: true}}, `for=unknown`},
		{"node from fields obfuscated ports", Element{For: Node{Obfuscated: "_a", ObfuscatedPort: "_b"}}, `for="_a:_b"`},
		{"value escaping", Element{Host: `a"b\c`}, `host="a\"b\\c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.elem.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRoundTrip checks that formatting the elements of every successful
// table case and parsing the result gives the same elements.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range parseTests {
		if tt.err != nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkRoundTrip(t, tt.want)
		})
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		dst   []string
		lines []string
		want  []string
	}{
		{"nil", nil, nil, nil},
		{"single", nil, []string{"https"}, []string{"https"}},
		{"trimmed list", nil, []string{" 192.0.2.1 ,\t2001:db8::1\t"}, []string{"192.0.2.1", "2001:db8::1"}},
		{"case kept", nil, []string{"HTTPS, Http"}, []string{"HTTPS", "Http"}},
		{"lines merged", nil, []string{"a, b", "c"}, []string{"a", "b", "c"}},
		{"empty members kept", nil, []string{",a,, b ,"}, []string{"", "a", "", "b", ""}},
		{"empty line", nil, []string{""}, []string{""}},
		{"blank line", nil, []string{" \t "}, []string{""}},
		{"inner space kept", nil, []string{"a b , c"}, []string{"a b", "c"}},
		{"only owS trimmed", nil, []string{"\v a \r"}, []string{"\v a \r"}},
		{"quotes not special", nil, []string{`"a,b"`}, []string{`"a`, `b"`}},
		{"appends to dst", []string{"x"}, []string{"y,z"}, []string{"x", "y", "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Tokens(slices.Clone(tt.dst), tt.lines)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tokens(%q, %q) = %q, want %q", tt.dst, tt.lines, got, tt.want)
			}
		})
	}
}

func TestTokensAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	lines := []string{"192.0.2.1, 198.51.100.7", " 203.0.113.9 "}
	dst := Tokens(nil, lines)
	allocs := testing.AllocsPerRun(100, func() {
		dst = Tokens(dst[:0], lines)
	})
	if allocs != 0 {
		t.Errorf("Tokens into a reused slice: %v allocs, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = Tokens(nil, lines) }); allocs != 1 {
		t.Errorf("Tokens into nil: %v allocs, want 1", allocs)
	}
}

func TestParseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	lines := []string{`for=192.0.2.43;proto=https`, `for="[2001:db8:cafe::17]:4711";by=_proxy;proto=HTTPS`}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = Parse(lines) }); allocs > 2 {
		// one for the result, one for lower-casing "HTTPS".
		t.Errorf("Parse: %v allocs, want at most 2", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = Parse([]string{"", " , "}) }); allocs != 0 {
		t.Errorf("Parse of empty elements: %v allocs, want 0", allocs)
	}
}

var benchLines = []string{
	`for=192.0.2.43;proto=https;host=example.com`,
	`for="[2001:db8:cafe::17]:4711";by=_proxy;proto=https`,
}

func BenchmarkParse(b *testing.B) {
	benchmarks := []struct {
		name  string
		lines []string
	}{
		{"typical", benchLines},
		{"max elements", []string{strings.Repeat(`for="[2001:db8:cafe::17]:4711";proto=https, `, MaxElements)}},
		{"max length quoted", []string{`x="` + strings.Repeat(`\a`, (MaxLength-4)/2) + `"`}},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(strings.Join(bm.lines, ","))))
			for b.Loop() {
				if _, err := Parse(bm.lines); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTokens(b *testing.B) {
	lines := []string{"192.0.2.43, 198.51.100.17", "203.0.113.60"}
	var dst []string
	b.ReportAllocs()
	for b.Loop() {
		dst = Tokens(dst[:0], lines)
	}
}
