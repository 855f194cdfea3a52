package config

import "testing"

func TestClosest(t *testing.T) {
	t.Parallel()
	apps := []string{"shop", "blog", "inspector"}
	tests := []struct {
		name, want string
	}{
		{"shpo", "shop"},
		{"SHOP", "shop"},
		{"blogg", "blog"},
		{"inspectr", "inspector"},
		{"zzzzzz", ""},
		{"a", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Closest(tt.name, apps); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := Closest("ab", []string{"ac", "aa"}); got != "aa" {
		t.Errorf("Closest(ab, [ac aa]) = %q, want the first in order, aa", got)
	}
}
