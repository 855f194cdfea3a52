package audit

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFindingIDsDocumented checks that every finding ID the code can emit
// is in the package documentation's table, and that IDs are kebab-case.
func TestFindingIDsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	idRE := regexp.MustCompile(`"((?:redirect|hsts|tls|csp|xfo|xcto|referrer-policy|permissions-policy|coop|corp|cookie|cookies)-[a-z0-9-]+)"`)
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)
	var ids []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "doc.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range idRE.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(ids, m[1]) {
				ids = append(ids, m[1])
			}
		}
	}
	if len(ids) < 50 {
		t.Fatalf("found only %d finding IDs in the sources; is the pattern out of date?", len(ids))
	}
	wordRE := regexp.MustCompile(`[a-z0-9]+(?:-[a-z0-9]+)+`)
	documented := wordRE.FindAllString(string(doc), -1)
	for _, id := range ids {
		if !kebab.MatchString(id) {
			t.Errorf("finding ID %q is not kebab-case", id)
		}
		if !slices.Contains(documented, id) {
			t.Errorf("finding ID %q is not in the package documentation", id)
		}
	}
}
