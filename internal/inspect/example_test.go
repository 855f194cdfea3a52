package inspect_test

import (
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"

	"github.com/forcehttps/forcehttps"
	"github.com/forcehttps/forcehttps/internal/inspect"
)

// A request that claims https through X-Forwarded-Proto, from a proxy that
// is trusted and from one that is not, as /headers.json reports it.
func Example() {
	for _, proxies := range [][]string{nil, {"10.0.0.0/8"}} {
		m, err := forcehttps.New(forcehttps.Config{
			TrustedProxies: proxies,
			AllowedHosts:   []string{"example.com"},
			ExemptPaths:    []string{"/healthz"},
			Logger:         slog.New(slog.DiscardHandler),
		})
		if err != nil {
			log.Fatal(err)
		}
		insp, err := inspect.New(inspect.Options{Middleware: m})
		if err != nil {
			log.Fatal(err)
		}
		h := m.Handler(insp)

		r := httptest.NewRequest("GET", "http://example.com/headers.json", nil)
		r.RemoteAddr = "10.1.2.3:40000"
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if w.Code != 200 {
			fmt.Println(w.Code, w.Header().Get("Location"))
			continue
		}
		var rep inspect.Report
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
			log.Fatal(err)
		}
		d := rep.Decision
		fmt.Println(d.Source, d.Reason, d.ClientIP, d.HSTS, rep.Highlighted)
	}
	// Output:
	// 301 https://example.com/headers.json
	// trusted-proxy:x-forwarded-proto secure 198.51.100.7 max-age=31536000 [X-Forwarded-For X-Forwarded-Proto]
}
