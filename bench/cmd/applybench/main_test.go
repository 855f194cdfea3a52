package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	h := histogram{
		bounds: []float64{0.001, 0.01, 0.1, math.Inf(1)},
		counts: []float64{50, 90, 100, 100},
		sum:    0.5, count: 100,
	}
	tests := []struct {
		q    float64
		want string
	}{
		{0.5, "1ms"},
		{0.25, "500µs"},
		{0.9, "10ms"},
		{0.95, "55ms"},
	}
	for _, tt := range tests {
		if got := h.quantile(tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %s, want %s", tt.q, got, tt.want)
		}
	}
	if got := h.mean(); got != "5ms" {
		t.Errorf("mean = %s, want 5ms", got)
	}
	d := h.minus(histogram{bounds: h.bounds, counts: []float64{50, 50, 50, 50}, sum: 0.1, count: 50})
	if got := d.quantile(0.5); got != "6.625ms" {
		t.Errorf("after minus: quantile(0.5) = %s, want 6.625ms", got)
	}
	if got := (histogram{bounds: h.bounds, counts: []float64{0, 0, 0, 1}, count: 1}).quantile(0.99); got != "> 100ms" {
		t.Errorf("beyond the last bound: %s", got)
	}
}

func TestPct(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := pct(ds, 50); got != "50ms" {
		t.Errorf("p50 = %s", got)
	}
	if got := pct(ds, 99); got != "99ms" {
		t.Errorf("p99 = %s", got)
	}
	if got := pct(ds[:1], 99); got != "1ms" {
		t.Errorf("p99 of one = %s", got)
	}
}
