package accesslog

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends l as the line slog.NewJSONHandler(w, nil) writes for
// a record of time t, level INFO, message [Message] and l's [Line.Attrs],
// newline included, and returns the extended buffer. A zero t is left
// out, as slog leaves it out.
func AppendJSON(b []byte, t time.Time, l *Line) []byte {
	b = append(b, '{')
	if !t.IsZero() {
		b = append(b, `"time":`...)
		b = appendTime(b, t)
		b = append(b, ',')
	}
	b = append(b, `"level":"INFO","msg":"`+Message+`"`...)
	b = appendString(b, `,"app":`, l.App)
	b = appendString(b, `,"host":`, l.Host)
	b = appendString(b, `,"method":`, l.Method)
	b = appendString(b, `,"path":`, l.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, l.Bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendFloat(b, l.DurationMS)
	b = appendString(b, `,"request_id":`, l.RequestID)
	b = appendString(b, `,"scheme":`, l.Scheme)
	b = appendString(b, `,"peer":`, l.Peer)
	b = appendString(b, `,"client_ip":`, l.ClientIP)
	b = appendString(b, `,"action":`, l.Action)
	b = appendString(b, `,"reason":`, l.Reason)
	if l.UpstreamError != "" {
		b = appendString(b, `,"upstream_error":`, l.UpstreamError)
	}
	if l.Cut != "" {
		b = appendString(b, `,"cut":`, l.Cut)
	}
	if l.GRPCStatus != "" {
		b = appendString(b, `,"grpc_status":`, l.GRPCStatus)
	}
	if l.GRPCMessage != "" {
		b = appendString(b, `,"grpc_message":`, l.GRPCMessage)
	}
	return append(b, "}\n"...)
}

// appendTime appends t quoted, as time.Time's MarshalJSON formats it.
// Where MarshalJSON fails (a year RFC 3339 cannot write in four digits),
// slog writes its error as a string first, then the time anyway.
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		b = append(b, `"!ERROR:time.Time year outside of range [0,9999]"`...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends key as it is, then s quoted as encoding/json
// quotes it with HTML escaping off: '"', '\\' and the control characters
// escaped (\n, \r and \t by name, the others as \u00XX), each byte of
// invalid UTF-8 as \ufffd, and U+2028 and U+2029, which JavaScript does
// not allow in a string, as \u2028 and \u2029. Everything else, '<', '>',
// '&' and DEL included, is copied.
func appendString(b []byte, key, s string) []byte {
	return appendQuoted(append(b, key...), s)
}

// appendQuoted appends s quoted, as appendString describes.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// appendFloat appends f as encoding/json writes a float64: the shortest
// decimal that reads back as f, with an exponent only below 1e-6 or from
// 1e21 up. JSON has no NaN or infinity: for those, slog writes
// encoding/json's error as a string.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b = append(b, `"!ERROR:json: unsupported value: `...)
		b = strconv.AppendFloat(b, f, 'g', -1, 64)
		return append(b, '"')
	}
	if ms, ok := thousandths(f); ok {
		return appendThousandths(b, ms)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// An exponent of one digit has a leading zero: e-07 is written e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// thousandths returns n when f is the float64 nearest to n/1000 for an
// integer n other than 0 of at most 15 digits: a duration of whole
// microseconds in milliseconds, as the edge logs it. Its shortest decimal
// is then n/1000's own: a float64 tells apart any two decimals of 15
// significant digits or fewer, so no shorter decimal reads back as f.
func thousandths(f float64) (int64, bool) {
	if !(f > -1e12 && f < 1e12) || f == 0 {
		return 0, false // 0 for the sign of -0, which n = 0 would lose
	}
	n := int64(math.Round(f * 1000))
	return n, float64(n)/1000 == f
}

// appendThousandths appends n/1000 in decimal, without trailing zeros in
// the fraction, nor a point when there is none.
func appendThousandths(b []byte, n int64) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = strconv.AppendInt(b, n/1000, 10)
	frac := n % 1000
	if frac == 0 {
		return b
	}
	b = append(b, '.', byte('0'+frac/100))
	if frac%100 != 0 {
		b = append(b, byte('0'+frac/10%10))
		if frac%10 != 0 {
			b = append(b, byte('0'+frac%10))
		}
	}
	return b
}
