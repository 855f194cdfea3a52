package audit

import (
	"fmt"
	"slices"
	"strings"
)

// Grade is a letter grade, from "A+" down to "F".
type Grade string

// The grades, best first.
const (
	GradeAPlus  Grade = "A+"
	GradeA      Grade = "A"
	GradeAMinus Grade = "A-"
	GradeBPlus  Grade = "B+"
	GradeB      Grade = "B"
	GradeBMinus Grade = "B-"
	GradeCPlus  Grade = "C+"
	GradeC      Grade = "C"
	GradeCMinus Grade = "C-"
	GradeDPlus  Grade = "D+"
	GradeD      Grade = "D"
	GradeDMinus Grade = "D-"
	GradeF      Grade = "F"
)

// gradeStep is a grade and the lowest score that gets it.
type gradeStep struct {
	grade Grade
	min   int
}

// grades lists the grades best first, with the lowest score of each
// (Mozilla Observatory's chart).
var grades = []gradeStep{
	{GradeAPlus, 100}, {GradeA, 90}, {GradeAMinus, 85}, {GradeBPlus, 80},
	{GradeB, 70}, {GradeBMinus, 65}, {GradeCPlus, 60}, {GradeC, 50},
	{GradeCMinus, 45}, {GradeDPlus, 40}, {GradeD, 30}, {GradeDMinus, 25},
	{GradeF, 0},
}

// ParseGrade parses a grade such as "B" or "a+" (case-insensitive).
func ParseGrade(s string) (Grade, error) {
	for _, g := range grades {
		if strings.EqualFold(s, string(g.grade)) {
			return g.grade, nil
		}
	}
	return "", fmt.Errorf("invalid grade %q: want one of A+ A A- B+ B B- C+ C C- D+ D D- F", s)
}

// GradeFor returns the grade of a score.
func GradeFor(score int) Grade {
	for _, g := range grades {
		if score >= g.min {
			return g.grade
		}
	}
	return GradeF
}

// rank is 0 for A+ up to 12 for F, and 13 for an unknown grade.
func (g Grade) rank() int {
	i := slices.IndexFunc(grades, func(e gradeStep) bool { return e.grade == g })
	if i < 0 {
		return len(grades)
	}
	return i
}

// AtLeast reports whether g is min or better.
func (g Grade) AtLeast(min Grade) bool { return g.rank() <= min.rank() }

// worse returns the worse of two grades.
func worse(a, b Grade) Grade {
	if a.rank() >= b.rank() {
		return a
	}
	return b
}

// BonusThreshold is the base score from which bonuses count, as in
// Mozilla Observatory.
const BonusThreshold = 90

// score computes the score and grade of rep from its findings and marks the
// findings that counted. Per category, the most negative modifier counts;
// a category without penalties contributes its largest bonus, and bonuses
// count only when the base score (100 plus penalties) is at least
// BonusThreshold.
func score(rep *Report) {
	base, bonus := 100, 0
	var bonusIdx []int
	for i := range rep.Findings {
		rep.Findings[i].Counted = false
	}
	for _, cat := range Categories() {
		worst, best := -1, -1
		for i := range rep.Findings {
			f := &rep.Findings[i]
			if f.Category != cat {
				continue
			}
			if f.Modifier < 0 && (worst < 0 || f.Modifier < rep.Findings[worst].Modifier) {
				worst = i
			}
			if f.Modifier > 0 && (best < 0 || f.Modifier > rep.Findings[best].Modifier) {
				best = i
			}
		}
		switch {
		case worst >= 0:
			base += rep.Findings[worst].Modifier
			rep.Findings[worst].Counted = true
		case best >= 0:
			bonus += rep.Findings[best].Modifier
			bonusIdx = append(bonusIdx, best)
		}
	}
	rep.BaseScore = base
	rep.Score = base
	if base >= BonusThreshold {
		rep.Score += bonus
		for _, i := range bonusIdx {
			rep.Findings[i].Counted = true
		}
	}
	rep.Score = max(rep.Score, 0)
	rep.ScoreGrade = GradeFor(rep.Score)
	rep.Grade = rep.ScoreGrade
	rep.CappedBy = []string{}
	for _, f := range rep.Findings {
		if f.Cap != "" && !f.Cap.AtLeast(rep.ScoreGrade) {
			rep.Grade = worse(rep.Grade, f.Cap)
			if !slices.Contains(rep.CappedBy, f.ID) { // one per weak suite share an ID
				rep.CappedBy = append(rep.CappedBy, f.ID)
			}
		}
	}
}
