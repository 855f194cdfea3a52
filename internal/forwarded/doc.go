// Package forwarded implements strict parsers for the request header fields
// that reverse proxies use to pass on what they saw of the original
// connection: the standard Forwarded field of RFC 7239 ([Parse]) and the de
// facto comma-separated X-Forwarded-* lists ([Tokens]).
//
// Every byte parsed here is controlled by whoever sent the request, so the
// package is written for hostile input: it never panics, allocates at most
// an amount proportional to its (bounded) input, and rejects anything that
// does not match the grammar instead of guessing what was meant. Deciding
// which hops to trust, and which protocols count as secure, is the caller's
// job; this package only says what the header literally contains.
//
// # Grammar
//
// [Parse] implements RFC 7239 §4 with the token and quoted-string rules of
// RFC 9110 §5.6.2 and §5.6.4:
//
//	Forwarded         = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair    = token "=" value
//	value             = token / quoted-string
//
// The values of the registered parameters are then checked against their own
// grammars: "for" and "by" against the node ABNF of RFC 7239 §6, "host"
// against the Host ABNF (uri-host [ ":" port ]), and "proto" against the URI
// scheme ABNF of RFC 3986 §3.1.
//
// # Strictness decisions
//
//   - All or nothing: any error rejects the whole header and Parse returns no
//     elements. A caller should treat an error as "this header tells me
//     nothing trustworthy".
//   - Optional whitespace (space, horizontal tab) is allowed at the start and
//     end of a field line and around ",", as for any HTTP list. It is also
//     tolerated around ";": the grammar has none there, but it cannot change
//     the meaning of the field and it is widely emitted ("for=x; proto=https").
//     Whitespace before or after "=" is an error.
//   - Empty list elements (",,", leading or trailing ",") and elements without
//     any pair (";") are skipped, as RFC 9110 §5.6.1 requires for empty list
//     elements. An element that only carries extension parameters is kept as
//     a zero [Element], so the number of hops is not changed.
//   - Parameter names are case-insensitive. A parameter that occurs twice in
//     one element (for example "for=a;For=b"), extension parameters included,
//     is an error wrapping [ErrDuplicateParam]. Extension parameters must be
//     syntactically valid; their values are otherwise ignored.
//   - Quoted strings are unescaped (quoted-pair) before their value is
//     checked. Bytes outside US-ASCII (obs-text) are rejected everywhere,
//     including inside quoted strings, as are control characters other than
//     horizontal tab inside quoted strings.
//   - Nodes: IPv4 addresses are parsed with [net/netip] and so must be in
//     canonical dotted-decimal form (no leading zeros). IPv6 addresses must be
//     enclosed in brackets, and since neither ":" nor "[" is a token
//     character, quoted; zones ("%eth0") are rejected; IPv4-mapped IPv6
//     addresses are kept as sent, not unmapped. "unknown" is matched
//     case-insensitively, as ABNF string literals are. Ports are decimal
//     1-65535 without sign or leading zeros. Obfuscated nodes and ports follow
//     RFC 7239 §6 ("_" followed by ALPHA, DIGIT, ".", "_" or "-").
//   - Hosts: a bracketed IPv6 address (no zone, no IPvFuture) or a reg-name or
//     IPv4 address made of unreserved characters, percent-encodings and
//     sub-delims other than ";" and ",", with an optional port of one to five
//     digits no greater than 65535. Empty hosts, whitespace, control bytes,
//     "/", "@", "\" and quotes are rejected.
//   - Protocols must have URI scheme syntax and are returned lower-cased. Any
//     scheme is accepted, not just http and https.
//
// # Quoted-string smuggling
//
// CVE-2026-32762 ("Forwarded header semicolon injection enables Host and
// Scheme spoofing", fixed in Rack 3.2.6) concerned a parser that treated a
// ";" inside a quoted value as a pair separator, so a client could send
//
//	Forwarded: for="x;proto=https;host=evil.example"
//
// and have the proto and host inside the quotes applied as real parameters.
// Here quoted strings are tokenized first: the value of "for" above is the
// single string `x;proto=https;host=evil.example`, which is not a valid node,
// so Parse fails and no protocol or host is ever reported. Quoted values of
// "host" may not contain ";", "," or quotes either, and extension parameters
// can carry such characters without affecting anything.
//
// # Bounds
//
// Parse rejects input longer than [MaxLength] bytes in total (counting one
// byte between field lines), more than [MaxElements] non-empty elements, or
// more than [MaxParams] pairs in one element, with an error wrapping
// [ErrTooMany]. Syntax errors are reported as [*SyntaxError], whose offset
// refers to the field lines joined with ",".
//
// [Tokens] has no error result and no limit of its own: it allocates at most
// one slice, sized by the number of commas in its input, so callers should
// bound the input they pass (net/http already bounds header size).
package forwarded
