package lex

import "testing"

func TestLex(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", " a ": "a", "\ta\tb \t": "a\tb", "a": "a"} {
		if got := TrimOWS(in); got != want {
			t.Errorf("TrimOWS(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]int{"": 0, "max-age=1": 7, "a b": 1, "!#$%&'*+-.^_`|~Az09": 19, "\x80": 0, "\"x": 0} {
		if got := TokenLen(in); got != want {
			t.Errorf("TokenLen(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]bool{"https": true, "a+b-c.d1": true, "": false, "1http": false, "ht_tp": false, "HTTP": true} {
		if got := ValidScheme(in); got != want {
			t.Errorf("ValidScheme(%q) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]bool{"1.2.3.4": true, "1": true, "": false, "1.a": false, "::1": false} {
		if got := DigitsAndDots(in); got != want {
			t.Errorf("DigitsAndDots(%q) = %v, want %v", in, got, want)
		}
	}
	for _, c := range []byte{' ', '"', '(', ',', '/', ':', ';', '=', '@', '[', '\\', ']', '{', '}', 0x7f, 0x80} {
		if IsTChar(c) {
			t.Errorf("IsTChar(%q) = true", c)
		}
	}
}
