package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slogJSON is what slog.NewJSONHandler(w, nil) writes for l at t: the
// reference AppendJSON must match.
func slogJSON(t time.Time, l *Line) []byte {
	var buf bytes.Buffer
	r := slog.NewRecord(t, slog.LevelInfo, Message, 0)
	r.AddAttrs(l.Attrs(nil)...)
	if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), r); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// checkSame fails the test when AppendJSON and slog disagree on l at t.
func checkSame(t *testing.T, at time.Time, l *Line) {
	t.Helper()
	want := slogJSON(at, l)
	if got := AppendJSON([]byte("kept:"), at, l); !bytes.Equal(got[len("kept:"):], want) || string(got[:5]) != "kept:" {
		t.Errorf("AppendJSON(%v, %+v) mismatch:\n got %q\nwant %q", at, *l, got, want)
	}
}

// ordinary is a line as a plain-HTTP redirect logs it.
var ordinary = Line{
	App: "shop", Host: "shop.example.com", Method: "GET", Path: "/cart",
	Status: 301, Bytes: 0, DurationMS: 0.042,
	RequestID: "6f1c2a9e0b7d4c35", Scheme: "http", Peer: "203.0.113.7", ClientIP: "203.0.113.7",
	Action: "redirect", Reason: "redirect",
}

// escapes has every case of JSON string escaping and of its absence.
const escapes = "q\"b\\s/ <>& \x00\x01\x07\x08\t\n\v\f\r\x1b\x1f\x7f é€𝄞 \u2027\u2028\u2029\u202a \xff\xc3(\xe2\x82\xed\xa0\x80\xf4\x90\x80\x80 end"

func TestAppendJSONMatchesSlog(t *testing.T) {
	t.Parallel()
	all := ordinary
	all.UpstreamError, all.Cut, all.GRPCStatus, all.GRPCMessage = "connect", "client_gone", "14", "unavailable"
	var esc Line
	for _, p := range stringFields(&esc) {
		*p = escapes
	}
	lines := []struct {
		name string
		line Line
	}{
		{"ordinary", ordinary},
		{"every optional field", all},
		{"zero", Line{}},
		{"escapes in every field", esc},
		{"some optional fields", Line{App: "a", Cut: "max_duration", GRPCMessage: "x"}},
		{"large numbers", Line{Status: math.MaxInt, Bytes: math.MaxInt64, DurationMS: 9.223372036854776e15}},
		{"small numbers", Line{Status: math.MinInt, Bytes: math.MinInt64, DurationMS: -1e-7}},
		{"negative bytes", Line{Status: -1, Bytes: -42, DurationMS: -0.001}},
		{"a whole millisecond", Line{DurationMS: 12}},
		{"a microsecond", Line{DurationMS: 0.001}},
		{"negative zero", Line{DurationMS: math.Copysign(0, -1)}},
		{"exponent below 1e-6", Line{DurationMS: 1e-7}},
		{"just 1e-6", Line{DurationMS: 1e-6}},
		{"exponent from 1e21", Line{DurationMS: 1e21}},
		{"just below 1e21", Line{DurationMS: 999999999999999900000}},
		{"largest", Line{DurationMS: math.MaxFloat64}},
		{"smallest", Line{DurationMS: math.SmallestNonzeroFloat64}},
		{"not whole microseconds", Line{DurationMS: 0.1 + 0.2}},
		{"third", Line{DurationMS: 1.0 / 3}},
		{"15 digits", Line{DurationMS: 999999999999.999}},
		{"NaN", Line{DurationMS: math.NaN()}},
		{"+Inf", Line{DurationMS: math.Inf(1)}},
		{"-Inf", Line{DurationMS: math.Inf(-1)}},
	}
	ist := time.FixedZone("IST", 5*3600+1800)
	west := time.FixedZone("", -(3*3600 + 30*60 + 7))
	times := []time.Time{
		time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC),
		time.Date(2026, 12, 5, 1, 2, 3, 123456789, time.UTC),
		time.Date(2026, 12, 5, 1, 2, 3, 100000000, ist),
		time.Date(2026, 12, 5, 1, 2, 3, 0, ist),
		time.Date(2026, 7, 1, 23, 59, 59, 999999999, time.Local),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local),
		time.Date(1999, 12, 31, 23, 59, 59, 1000, west),
		time.Date(0, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),    // year out of RFC 3339's range
		time.Date(10000, 1, 1, 0, 0, 0, 5, time.UTC), // likewise
		time.Now(), // with a monotonic reading
		{},         // left out
	}
	for _, tc := range lines {
		t.Run(tc.name, func(t *testing.T) {
			for _, at := range times {
				checkSame(t, at, &tc.line)
			}
		})
	}
}

// stringFields returns pointers to l's string fields, found by
// reflection so that a field added later is covered too.
func stringFields(l *Line) []*string {
	var ps []*string
	v := reflect.ValueOf(l).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			ps = append(ps, f.Addr().Interface().(*string))
		}
	}
	return ps
}

// Every field of Line is written: a field added to Line but not to the
// formats fails here.
func TestAppendJSONWritesEveryField(t *testing.T) {
	t.Parallel()
	var l Line
	v := reflect.ValueOf(&l).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("field-" + v.Type().Field(i).Name)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Float64:
			f.SetFloat(float64(1000 + i))
		default:
			t.Fatalf("field %s: kind %s not covered by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	got := string(AppendJSON(nil, time.Time{}, &l))
	for i := range v.NumField() {
		want := ":" + strconv.Itoa(1000+i) // the numbers, the float64 too
		if f := v.Field(i); f.Kind() == reflect.String {
			want = `"` + f.String() + `"`
		}
		if !strings.Contains(got, want) {
			t.Errorf("field %s (%s) missing from %s", v.Type().Field(i).Name, want, got)
		}
	}
	checkSame(t, time.Time{}, &l)
}

// The fast path of duration_ms (whole microseconds) against the general
// one, on every value up to ten seconds' worth of microseconds in steps
// and on random ones up to its bound.
func TestAppendFloatThousandths(t *testing.T) {
	t.Parallel()
	check := func(n int64) {
		f := float64(n) / 1000
		got := string(appendFloat(nil, f))
		want, err := json.Marshal(f)
		if err != nil || got != string(want) {
			t.Fatalf("appendFloat(%d/1000) = %s, json.Marshal = %s (%v)", n, got, want, err)
		}
	}
	for n := int64(-2000); n < 2000; n++ {
		check(n)
	}
	for n := int64(0); n < 10_000_000; n += 997 {
		check(n)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		check(r.Int64N(2e15) - 1e15)
		check(r.Int64N(1e6))
	}
	if _, ok := thousandths(1e12); ok {
		t.Error("thousandths(1e12): past its bound, should fall back")
	}
}

// Logger.Log's line (time.Now) is slog's for the same record at the time
// the line carries.
func TestLoggerJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	NewJSON(&buf).Log(&ordinary)
	var rec struct{ Time time.Time }
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%q: %v", buf.Bytes(), err)
	}
	if want := slogJSON(rec.Time, &ordinary); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Log mismatch:\n got %q\nwant %q", buf.Bytes(), want)
	}
}

func TestLoggerSlog(t *testing.T) {
	t.Parallel()
	if New(nil) != nil {
		t.Error("New(nil) != nil: a nil slog.Logger must mean no log")
	}
	var buf bytes.Buffer
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime}))).Log(&ordinary)
	const want = "level=INFO msg=request app=shop host=shop.example.com method=GET path=/cart status=301 bytes=0 duration_ms=0.042 request_id=6f1c2a9e0b7d4c35 scheme=http peer=203.0.113.7 client_ip=203.0.113.7 action=redirect reason=redirect\n"
	if buf.String() != want {
		t.Errorf("text line:\n got %q\nwant %q", buf.String(), want)
	}
}

func TestAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() { AppendJSON(buf, now, &ordinary) }); n > 0 {
		t.Errorf("AppendJSON: %v allocations per line, want 0", n)
	}
	if raceEnabled {
		t.Skip("Log: allocation counts differ under the race detector")
	}
	lg := NewJSON(io.Discard)
	lg.Log(&ordinary) // fills the pool
	if n := testing.AllocsPerRun(100, func() { lg.Log(&ordinary) }); n > 0 {
		t.Errorf("Log: %v allocations per line, want 0", n)
	}
}

func FuzzAppendJSON(f *testing.F) {
	add := func(l Line, sec, nsec int64, zone int) {
		f.Add(l.App, l.Host, l.Method, l.Path, l.Status, l.Bytes, l.DurationMS,
			l.RequestID, l.Scheme, l.Peer, l.ClientIP, l.Action, l.Reason,
			l.UpstreamError, l.Cut, l.GRPCStatus, l.GRPCMessage, sec, nsec, zone)
	}
	add(ordinary, 1796432523, 0, 0)
	add(Line{App: escapes, Path: "/a\u2028b", Cut: "client_gone", DurationMS: 1e-7}, 1796432523, 999999999, 5*3600+1800)
	add(Line{Host: "\xff", GRPCMessage: "<&>", Status: -1, Bytes: -1, DurationMS: 1e21}, -62135596801, 1, -3600)
	add(Line{Method: "\t", DurationMS: 1234.567, UpstreamError: "x", GRPCStatus: "2"}, 0, 123, 0)
	f.Fuzz(func(t *testing.T, app, host, method, path string, status int, nbytes int64, dur float64,
		requestID, scheme, peer, clientIP, action, reason,
		upstreamError, cut, grpcStatus, grpcMessage string, sec, nsec int64, zone int) {
		l := Line{
			App: app, Host: host, Method: method, Path: path, Status: status, Bytes: nbytes, DurationMS: dur,
			RequestID: requestID, Scheme: scheme, Peer: peer, ClientIP: clientIP, Action: action, Reason: reason,
			UpstreamError: upstreamError, Cut: cut, GRPCStatus: grpcStatus, GRPCMessage: grpcMessage,
		}
		checkSame(t, time.Unix(sec, nsec).In(time.FixedZone("", zone)), &l)
	})
}

// BenchmarkAccessLine is one line of a plain-HTTP redirect written to
// io.Discard: by the appender, and by slog's JSONHandler.
func BenchmarkAccessLine(b *testing.B) {
	for _, bc := range []struct {
		name string
		lg   *Logger
	}{
		{"appender", NewJSON(io.Discard)},
		{"slog", New(slog.New(slog.NewJSONHandler(io.Discard, nil)))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.lg.Log(&ordinary)
			}
		})
	}
}
