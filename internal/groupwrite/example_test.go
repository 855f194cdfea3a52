package groupwrite_test

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/forcehttps/forcehttps/internal/groupwrite"
)

// An access log shared by many goroutines: each record is one Write,
// and the records logged while a write is in progress go out together in
// the next.
func Example() {
	w := groupwrite.New(os.Stdout)
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output for the example
			}
			return a
		},
	}))
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { log.Info("request", "n", i) })
		wg.Wait() // in order, for the example's output
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// level=INFO msg=request n=0
	// level=INFO msg=request n=1
	// level=INFO msg=request n=2
}
