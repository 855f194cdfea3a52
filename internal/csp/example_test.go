package csp_test

import (
	"fmt"

	"github.com/forcehttps/forcehttps/internal/csp"
)

func ExampleParse() {
	p, err := csp.Parse("default-src 'self'; Script-Src 'self' cdn.example.com self; script-src *")
	if err != nil {
		fmt.Println(err)
		return
	}
	scripts, _ := p.Effective("script-src-elem")
	fmt.Println(scripts.Name, scripts.Values)
	fmt.Println("duplicates:", p.Duplicates)
	for _, v := range scripts.Values {
		fmt.Println(v, csp.Classify(v), csp.UnquotedKeyword(v))
	}
	// Output:
	// script-src ['self' cdn.example.com self]
	// duplicates: [script-src]
	// 'self' keyword false
	// cdn.example.com host false
	// self host true
}
