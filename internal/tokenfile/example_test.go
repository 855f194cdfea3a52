package tokenfile_test

import (
	"fmt"

	"github.com/forcehttps/forcehttps/internal/tokenfile"
)

func ExampleParse() {
	toks, err := tokenfile.Parse([]byte("# admin tokens\nci: 3f6c0c3a4f0d8f1e9a6b\nalice: 9e8d7c6b5a4f3e2d1c0b\n"))
	if err != nil {
		panic(err)
	}
	for _, t := range toks {
		fmt.Println(t.Name)
	}
	_, err = tokenfile.Parse([]byte("ci: 3f6c0c3a4f0d8f1e9a6b\nci: 9e8d7c6b5a4f3e2d1c0b\n"))
	fmt.Println(err)
	// Output:
	// ci
	// alice
	// line 2: name "ci" is also on line 1
}
