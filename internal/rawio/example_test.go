package rawio_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"

	"github.com/forcehttps/forcehttps/internal/rawio"
)

// A client asks a question and reads the answer: WriteWait writes the
// question and returns once the answer is there to read.
func ExampleWriteWait() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "%s\n", strings.ToUpper(strings.TrimSpace(line)))
	}()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	question := []byte("hello\n")
	n := 0
	if rc := rawio.Conn(c); rc != nil {
		if n, err = rawio.WriteWait(rc, question, nil); err != nil {
			panic(err)
		}
	}
	if n < len(question) { // no raw connection, or a full buffer
		if _, err := c.Write(question[n:]); err != nil {
			panic(err)
		}
	}
	answer, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(answer)
	// Output: HELLO
}

// A server wraps each connection it accepts; the wrapped connection is
// used as any net.Conn.
func ExampleWrap() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := rawio.Wrap(nc)
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "%s\n", strings.ToUpper(strings.TrimSpace(line)))
	}()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "hello\n")
	answer, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(answer)
	// Output: HELLO
}
