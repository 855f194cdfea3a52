package forcehttps

import (
	"bufio"
	"net/http"
	"os"
	"strings"
	"testing"
)

// specNames reads testdata/header-names.txt: section name -> canonical names.
func specNames(t *testing.T) map[string]map[string]bool {
	t.Helper()
	f, err := os.Open("testdata/header-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]bool{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# section: "); ok {
			section = strings.Fields(rest)[0]
			out[section] = map[string]bool{}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out[section][http.CanonicalHeaderKey(strings.Fields(line)[0])] = true
	}
	return out
}

// TestHeaderNamesAgainstSpec checks the names the package uses against a
// list written independently of the code.
func TestHeaderNamesAgainstSpec(t *testing.T) {
	t.Parallel()
	spec := specNames(t)
	resp := serve(t, mustNew(t, Config{}), hello, request{tls: true})
	sent := map[string]bool{}
	for k := range resp.Header {
		if k != "Content-Type" { // set by net/http, not by us
			sent[k] = true
		}
	}
	for k := range sent {
		if !spec["response"][k] {
			t.Errorf("the middleware sends %q, which is not in the spec list", k)
		}
	}
	for k := range spec["response"] {
		if !sent[k] {
			t.Errorf("the middleware does not send %q", k)
		}
	}
	for _, k := range ProtoHeaders() {
		if !spec["request"][k] {
			t.Errorf("ProtoHeaders() has %q, which is not in the spec list", k)
		}
	}
	for k := range spec["request"] {
		if _, ok := protoHeaders[k]; !ok {
			t.Errorf("the spec list has request header %q, which the middleware cannot read", k)
		}
	}
}
