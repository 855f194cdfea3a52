package audit

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGradeFor(t *testing.T) {
	t.Parallel()
	// Mozilla Observatory's chart, written out independently of the table
	// in grade.go.
	tests := []struct {
		score int
		want  Grade
	}{
		{135, "A+"}, {100, "A+"}, {99, "A"}, {90, "A"}, {89, "A-"}, {85, "A-"},
		{84, "B+"}, {80, "B+"}, {79, "B"}, {70, "B"}, {69, "B-"}, {65, "B-"},
		{64, "C+"}, {60, "C+"}, {59, "C"}, {50, "C"}, {49, "C-"}, {45, "C-"},
		{44, "D+"}, {40, "D+"}, {39, "D"}, {30, "D"}, {29, "D-"}, {25, "D-"},
		{24, "F"}, {0, "F"}, {-10, "F"},
	}
	for _, tt := range tests {
		if got := GradeFor(tt.score); got != tt.want {
			t.Errorf("GradeFor(%d) = %s, want %s", tt.score, got, tt.want)
		}
	}
}

func TestParseGrade(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"A+", "a+", "A", "b-", "C+", "D", "f"} {
		if _, err := ParseGrade(in); err != nil {
			t.Errorf("ParseGrade(%q) error: %v", in, err)
		}
	}
	for _, in := range []string{"", "A++", "E", "B+ ", "T", "+"} {
		if g, err := ParseGrade(in); err == nil {
			t.Errorf("ParseGrade(%q) = %q, want an error", in, g)
		}
	}
	if !GradeAPlus.AtLeast(GradeB) || GradeBMinus.AtLeast(GradeB) || !GradeB.AtLeast(GradeB) || !GradeF.AtLeast(GradeF) {
		t.Error("AtLeast does not order A+ > B > B- ≥ F")
	}
	if Grade("Z").AtLeast(GradeF) {
		t.Error(`Grade("Z").AtLeast(F) = true, want false`)
	}
}

func TestScore(t *testing.T) {
	t.Parallel()
	f := func(id string, cat Category, mod int, cap Grade) Finding {
		return Finding{ID: id, Category: cat, Modifier: mod, Cap: cap}
	}
	tests := []struct {
		name        string
		findings    []Finding
		score, base int
		grade       Grade
		counted     []string
		capped      []string
	}{
		{
			name:     "nothing",
			findings: nil,
			score:    100, base: 100, grade: GradeAPlus,
		},
		{
			name: "one penalty per category, the worst",
			findings: []Finding{
				f("csp-unsafe-inline", CategoryCSP, -20, ""),
				f("csp-unsafe-eval", CategoryCSP, -10, ""),
				f("csp-ok", CategoryCSP, 5, ""),
				f("xcto-missing", CategoryNosniff, -5, ""),
			},
			score: 75, base: 75, grade: GradeB,
			counted: []string{"csp-unsafe-inline", "xcto-missing"},
		},
		{
			name: "bonuses from a base of 90",
			findings: []Finding{
				f("hsts-short", CategoryHSTS, -10, ""),
				f("csp-ok", CategoryCSP, 5, ""),
				f("corp-ok", CategoryCORP, 10, ""),
			},
			score: 105, base: 90, grade: GradeAPlus,
			counted: []string{"hsts-short", "csp-ok", "corp-ok"},
		},
		{
			name: "no bonuses below 90",
			findings: []Finding{
				f("xcto-missing", CategoryNosniff, -5, ""),
				f("hsts-short", CategoryHSTS, -10, ""),
				f("corp-ok", CategoryCORP, 10, ""),
			},
			score: 85, base: 85, grade: GradeAMinus,
			counted: []string{"xcto-missing", "hsts-short"},
		},
		{
			name: "largest bonus of a category",
			findings: []Finding{
				f("a", CategoryCSP, 5, ""),
				f("b", CategoryCSP, 10, ""),
			},
			score: 110, base: 100, grade: GradeAPlus,
			counted: []string{"b"},
		},
		{
			name: "never below zero",
			findings: []Finding{
				f("a", CategoryCookies, -40, ""), f("b", CategoryCSP, -25, ""),
				f("c", CategoryHSTS, -20, ""), f("d", CategoryRedirect, -20, ""),
				f("e", CategoryFrame, -20, ""),
			},
			score: 0, base: -25, grade: GradeF,
			counted: []string{"a", "b", "c", "d", "e"},
		},
		{
			name: "caps lower the grade, not the score",
			findings: []Finding{
				f("tls-legacy-version", CategoryTLS, 0, GradeB),
				f("tls-no-modern-version", CategoryTLS, 0, GradeC),
			},
			score: 100, base: 100, grade: GradeC,
			capped: []string{"tls-legacy-version", "tls-no-modern-version"},
		},
		{
			name: "a cap above the grade does nothing",
			findings: []Finding{
				f("tls-legacy-version", CategoryTLS, 0, GradeB),
				f("a", CategoryCookies, -40, ""), f("b", CategoryCSP, -25, ""),
			},
			score: 35, base: 35, grade: GradeD,
			counted: []string{"a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := &Report{Findings: append([]Finding(nil), tt.findings...)}
			score(rep)
			var counted []string
			for _, f := range rep.Findings {
				if f.Counted {
					counted = append(counted, f.ID)
				}
			}
			got := fmt.Sprintf("score %d base %d grade %s counted %v capped %v", rep.Score, rep.BaseScore, rep.Grade, counted, rep.CappedBy)
			want := fmt.Sprintf("score %d base %d grade %s counted %v capped %v", tt.score, tt.base, tt.grade, tt.counted, nonNil(tt.capped))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("score() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func ExampleGradeFor() {
	fmt.Println(GradeFor(125), GradeFor(90), GradeFor(72), GradeFor(20))
	// Output: A+ A B F
}
