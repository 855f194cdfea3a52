package forwarded_test

import (
	"errors"
	"fmt"

	"github.com/forcehttps/forcehttps/internal/forwarded"
)

// A request that passed through two proxies; the last element was added by
// the proxy nearest to the server.
func Example() {
	elems, err := forwarded.Parse([]string{
		`for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=HTTPS;host=example.com`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	last := elems[len(elems)-1]
	fmt.Println(len(elems), last.Proto, last.Host, last.For.Addr, last.By.Addr)

	// A quoted value cannot smuggle in other parameters (CVE-2026-32762).
	_, err = forwarded.Parse([]string{`for="_x;proto=https"`})
	fmt.Println(errors.Is(err, forwarded.ErrSyntax))
	fmt.Println(err)
	// Output:
	// 2 https example.com 198.51.100.17 203.0.113.60
	// true
	// forwarded: syntax error at offset 4: invalid node "_x;proto=https" in parameter "for"
}

func ExampleParse() {
	elems, err := forwarded.Parse([]string{
		`for=192.0.2.43`,
		`For="[2001:db8:cafe::17]:4711", for=unknown;by="10.0.0.1:_eth1", for=_SEVKISEK`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range elems {
		n := e.For
		switch {
		case n.Unknown:
			fmt.Print("unknown")
		case n.Obfuscated != "":
			fmt.Print("obfuscated ", n.Obfuscated)
		default:
			fmt.Print("address ", n.Addr, " port ", n.Port)
		}
		fmt.Printf(" (%s)\n", e)
	}
	// Output:
	// address 192.0.2.43 port 0 (for=192.0.2.43)
	// address 2001:db8:cafe::17 port 4711 (for="[2001:db8:cafe::17]:4711")
	// unknown (for=unknown;by="10.0.0.1:_eth1")
	// obfuscated _SEVKISEK (for=_SEVKISEK)
}

func ExampleTokens() {
	var dst []string
	dst = forwarded.Tokens(dst[:0], []string{"https, http", " https "})
	fmt.Printf("%q\n", dst)

	// Empty members are kept, so a malformed list can be refused.
	dst = forwarded.Tokens(dst[:0], []string{"https,"})
	fmt.Printf("%q\n", dst)
	// Output:
	// ["https" "http" "https"]
	// ["https" ""]
}
