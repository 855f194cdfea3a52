package h2

import (
	"strconv"

	"golang.org/x/net/http2/hpack"
)

// Header blocks are encoded without the dynamic table: every field is
// an indexed static entry or a literal "without indexing" (RFC 7541
// §6.2.2) naming a static entry when one matches. A block then depends
// on no connection state, so a handler encodes its own response head
// before it takes the connection's lock, and blocks may be written in
// any order. The cost is a few bytes per repeated field, as with nginx,
// which does the same.

// staticNames maps the names of RFC 7541's static table (Appendix A) to
// their first index.
var staticNames = map[string]uint64{}

// staticStatus maps the status codes with a static entry to its index.
var staticStatus = map[int]uint64{200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}

func init() {
	names := []string{
		":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme",
		":status", ":status", ":status", ":status", ":status", ":status", ":status",
		"accept-charset", "accept-encoding", "accept-language", "accept-ranges",
		"accept", "access-control-allow-origin", "age", "allow", "authorization",
		"cache-control", "content-disposition", "content-encoding",
		"content-language", "content-length", "content-location", "content-range",
		"content-type", "cookie", "date", "etag", "expect", "expires", "from",
		"host", "if-match", "if-modified-since", "if-none-match", "if-range",
		"if-unmodified-since", "last-modified", "link", "location",
		"max-forwards", "proxy-authenticate", "proxy-authorization", "range",
		"referer", "refresh", "retry-after", "server", "set-cookie",
		"strict-transport-security", "transfer-encoding", "user-agent", "vary",
		"via", "www-authenticate",
	}
	for i, n := range names {
		if _, ok := staticNames[n]; !ok {
			staticNames[n] = uint64(i + 1)
		}
	}
}

// appendInt appends v in HPACK's integer form with an n-bit prefix
// whose high bits are first (RFC 7541 §5.1).
func appendInt(dst []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(max))
	v -= max
	for v >= 128 {
		dst = append(dst, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// appendString appends s as an HPACK string literal, Huffman-coded
// when that is shorter.
func appendString(dst []byte, s string) []byte {
	if h := hpack.HuffmanEncodeLength(s); h < uint64(len(s)) {
		dst = appendInt(dst, 0x80, 7, h)
		return hpack.AppendHuffmanString(dst, s)
	}
	dst = appendInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}

// appendField appends the field name: value (name in lower case) as a
// literal without indexing.
func appendField(dst []byte, name, value string) []byte {
	if i, ok := staticNames[name]; ok {
		dst = appendInt(dst, 0, 4, i)
	} else {
		dst = append(dst, 0)
		dst = appendString(dst, name)
	}
	return appendString(dst, value)
}

// appendStatus appends the :status pseudo-header field.
func appendStatus(dst []byte, code int) []byte {
	if i, ok := staticStatus[code]; ok {
		return appendInt(dst, 0x80, 7, i)
	}
	dst = appendInt(dst, 0, 4, 8)
	var b [3]byte
	return appendString(dst, string(strconv.AppendInt(b[:0], int64(code), 10)))
}
