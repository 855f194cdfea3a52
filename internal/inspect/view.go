package inspect

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/forcehttps/forcehttps"
)

// headersView is what headers.html renders.
type headersView struct {
	Nonce      string
	Report     Report
	Rows       []headerRow
	SecHeaders []keyValue
	Outcome    string // the redirect or refusal, in words
}

// headerRow is one header in the table.
type headerRow struct {
	Name      string
	Values    []string
	Highlight bool // matters for HTTPS detection
	Used      bool // the decision took the scheme from it
	Redacted  bool
}

type keyValue struct{ Key, Value string }

// view builds the page model from the report, with the rows sorted by name.
func (i *Inspector) view(r *http.Request) headersView {
	rep := i.Report(r)
	v := headersView{Nonce: forcehttps.Nonce(r), Report: rep}
	used := http.CanonicalHeaderKey(rep.Decision.Header)
	for name, vals := range rep.Headers {
		v.Rows = append(v.Rows, headerRow{
			Name:      name,
			Values:    vals,
			Highlight: isHighlighted(name),
			Used:      used != "" && http.CanonicalHeaderKey(name) == used,
			Redacted:  slices.Contains(rep.Redacted, name),
		})
	}
	slices.SortFunc(v.Rows, func(a, b headerRow) int { return strings.Compare(a.Name, b.Name) })
	for k, val := range rep.Decision.SecurityHeaders {
		v.SecHeaders = append(v.SecHeaders, keyValue{k, val})
	}
	slices.SortFunc(v.SecHeaders, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	d := rep.Decision
	switch d.Action {
	case forcehttps.Redirect.String():
		v.Outcome = strconv.Itoa(d.Status) + " " + http.StatusText(d.Status) + " to " + d.Location
	case forcehttps.Refuse.String():
		v.Outcome = "refused with " + strconv.Itoa(d.Status) + " " + http.StatusText(d.Status) + ": " + d.Message
	default:
		v.Outcome = "none: the request is served"
	}
	return v
}
