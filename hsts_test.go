package forcehttps

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParseHSTS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    HSTS
		wantErr error
	}{
		{in: "max-age=31536000", want: HSTS{MaxAge: 31536000}},
		{in: "max-age=0", want: HSTS{}},
		{in: "MAX-AGE=10; INCLUDESUBDOMAINS; PRELOAD", want: HSTS{10, true, true}},
		{in: `max-age="31536000"; includeSubDomains`, want: HSTS{MaxAge: 31536000, IncludeSubDomains: true}},
		{in: "  max-age = 5 ;  includeSubDomains  ", want: HSTS{MaxAge: 5, IncludeSubDomains: true}},
		{in: "includeSubDomains; max-age=5", want: HSTS{MaxAge: 5, IncludeSubDomains: true}},
		{in: "max-age=5;;", want: HSTS{MaxAge: 5}},
		{in: ";max-age=5", want: HSTS{MaxAge: 5}},
		{in: "max-age=5; unknown=\"a;b\"; other", want: HSTS{MaxAge: 5}},
		{in: `max-age="1\0"`, want: HSTS{MaxAge: 10}},
		{in: "max-age=99999999999999999999999", want: HSTS{MaxAge: math.MaxInt64}},
		{in: "max-age=007", want: HSTS{MaxAge: 7}},
		{in: "", wantErr: ErrHSTSNoMaxAge},
		{in: "includeSubDomains", wantErr: ErrHSTSNoMaxAge},
		{in: "max-age", wantErr: ErrHSTSSyntax},
		{in: "max-age=", wantErr: ErrHSTSSyntax},
		{in: "max-age=-1", wantErr: ErrHSTSSyntax},
		{in: "max-age=1.5", wantErr: ErrHSTSSyntax},
		{in: "max-age=1e3", wantErr: ErrHSTSSyntax},
		{in: `max-age="12`, wantErr: ErrHSTSSyntax},
		{in: "max-age=1, max-age=2", wantErr: ErrHSTSSyntax},
		{in: "max-age=1 2", wantErr: ErrHSTSSyntax},
		{in: "max-age=1; max-age=2", wantErr: ErrHSTSDuplicate},
		{in: "max-age=1; Max-Age=1", wantErr: ErrHSTSDuplicate},
		{in: "max-age=1; includeSubDomains; includesubdomains", wantErr: ErrHSTSDuplicate},
		{in: "max-age=1; preload; preload", wantErr: ErrHSTSDuplicate},
		{in: "max-age=1; x=1; X=2", wantErr: ErrHSTSDuplicate},
		{in: "max-age=1; includeSubDomains=yes", wantErr: ErrHSTSSyntax},
		{in: "max-age=1; preload=1", wantErr: ErrHSTSSyntax},
		{in: "max-age=1; \x00", wantErr: ErrHSTSSyntax},
		{in: "max-age=\"1\x01\"", wantErr: ErrHSTSSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHSTS(tt.in)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("ParseHSTS(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseHSTS(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseHSTSTooLong(t *testing.T) {
	t.Parallel()
	long := "max-age=1;" + string(make([]byte, maxHSTSLen))
	if _, err := ParseHSTS(long); !errors.Is(err, ErrHSTSSyntax) {
		t.Errorf("ParseHSTS(long) error = %v, want ErrHSTSSyntax", err)
	}
}

func TestHSTSString(t *testing.T) {
	t.Parallel()
	for h, want := range map[HSTS]string{
		{MaxAge: 31536000}:                   "max-age=31536000",
		{}:                                   "max-age=0",
		{MaxAge: 1, IncludeSubDomains: true}: "max-age=1; includeSubDomains",
		{MaxAge: 63072000, IncludeSubDomains: true, Preload: true}: "max-age=63072000; includeSubDomains; preload",
	} {
		if got := h.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", h, got, want)
		}
		back, err := ParseHSTS(want)
		if err != nil || back != h {
			t.Errorf("ParseHSTS(%q) = %+v, %v; want %+v", want, back, err, h)
		}
	}
}

func TestHSTSDuration(t *testing.T) {
	t.Parallel()
	if got := (HSTS{MaxAge: 60}).Duration(); got != time.Minute {
		t.Errorf("Duration = %v, want 1m", got)
	}
	if got := (HSTS{MaxAge: math.MaxInt64}).Duration(); got != math.MaxInt64 {
		t.Errorf("Duration of a huge max-age = %v, want saturation", got)
	}
}

func TestRampMaxAge(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const target = 31536000
	tests := []struct {
		name   string
		since  time.Duration
		target int64
		want   int64
	}{
		{"just enabled", 0, target, 300},
		{"enabled in the future", -time.Hour, target, 300},
		{"23h", 23 * time.Hour, target, 300},
		{"day 2", 24 * time.Hour, target, 604800},
		{"day 8", 8 * 24 * time.Hour, target, 2592000},
		{"day 37", 37*24*time.Hour + 23*time.Hour, target, 2592000},
		{"day 38", 38 * 24 * time.Hour, target, target},
		{"small target", 2 * 24 * time.Hour, 3600, 3600},
		{"zero target", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := RampMaxAge(tt.target, start, start.Add(tt.since)); got != tt.want {
				t.Errorf("RampMaxAge(%d, +%v) = %d, want %d", tt.target, tt.since, got, tt.want)
			}
		})
	}
	if got := RampMaxAge(target, time.Time{}, start); got != 300 {
		t.Errorf("RampMaxAge with zero enabledAt = %d, want 300", got)
	}
}
