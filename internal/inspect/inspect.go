package inspect

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/forcehttps/forcehttps"
)

// Options configures an [Inspector].
type Options struct {
	// Middleware is the policy whose decision the inspector shows: the
	// page reports Middleware.Check for the very request it answers.
	// Required. Wrap the inspector in the same middleware
	// (Middleware.Handler) so that what the page says is what happened.
	Middleware *forcehttps.Middleware

	// Logger receives rendering errors, which should never happen. Zero:
	// slog.Default().
	Logger *slog.Logger

	// ShowCredentials shows the values of credential headers
	// (Authorization, Cookie, identity-aware proxy assertions, ...) as
	// they are. Zero: they are redacted, keeping the Authorization scheme,
	// the cookie names and the length, so that a screenshot or a pasted
	// JSON report does not leak a token.
	ShowCredentials bool
}

// Inspector is the header inspector: an http.Handler serving the routes
// listed in the package documentation. It is safe for concurrent use.
type Inspector struct {
	m         *forcehttps.Middleware
	logger    *slog.Logger
	showCreds bool
	policy    Policy
	secHdrs   map[string]string
}

// ErrNoMiddleware is returned by [New] when Options.Middleware is nil.
var ErrNoMiddleware = errors.New("inspect: Options.Middleware is required")

// New returns an inspector that shows the decisions of opts.Middleware.
func New(opts Options) (*Inspector, error) {
	if opts.Middleware == nil {
		return nil, ErrNoMiddleware
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	cfg := opts.Middleware.Config()
	return &Inspector{
		m:         opts.Middleware,
		logger:    logger,
		showCreds: opts.ShowCredentials,
		policy:    policyOf(cfg),
		secHdrs:   securityHeaders(opts.Middleware),
	}, nil
}

//go:embed templates/*.html static/headers.css
var assets embed.FS

var (
	templates  = template.Must(template.New("").ParseFS(assets, "templates/*.html"))
	stylesheet = mustRead("static/headers.css")
)

func mustRead(name string) []byte {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot fail at run time
	}
	return b
}

// The routes.
const (
	pathIndex   = "/"
	pathHeaders = "/headers"
	pathJSON    = "/headers.json"
	pathCSS     = "/headers.css"
	pathHealth  = "/healthz"
)

// ServeHTTP answers the inspector's routes; other paths get 404 and other
// methods than GET and HEAD get 405.
func (i *Inspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathIndex, pathHeaders, pathJSON, pathCSS, pathHealth:
	default:
		plain(w, http.StatusNotFound, "404 page not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, http.StatusMethodNotAllowed, "405 method not allowed")
		return
	}
	switch r.URL.Path {
	case pathIndex:
		i.page(w, r, "index.html", indexData{Nonce: forcehttps.Nonce(r)})
	case pathHeaders:
		w.Header().Add("Vary", "Accept")
		if wantsJSON(r.Header["Accept"]) {
			i.json(w, r)
			return
		}
		i.page(w, r, "headers.html", i.view(r))
	case pathJSON:
		i.json(w, r)
	case pathCSS:
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Content-Length", strconv.Itoa(len(stylesheet)))
		w.Write(stylesheet)
	case pathHealth:
		w.Header().Set("Cache-Control", "no-store")
		plain(w, http.StatusOK, "ok")
	}
}

// indexData is what index.html renders.
type indexData struct{ Nonce string }

// page renders a template into a buffer first, so that an error becomes a
// clean 500 instead of half a page.
func (i *Inspector) page(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		i.logger.ErrorContext(r.Context(), "inspect: rendering failed", slog.String("template", name), slog.Any("error", err))
		plain(w, http.StatusInternalServerError, "500 internal server error")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	noStore(h)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// json writes the report as indented JSON.
func (i *Inspector) json(w http.ResponseWriter, r *http.Request) {
	b, err := json.MarshalIndent(i.Report(r), "", "  ")
	if err != nil {
		i.logger.ErrorContext(r.Context(), "inspect: encoding failed", slog.Any("error", err))
		plain(w, http.StatusInternalServerError, "500 internal server error")
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	noStore(h)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// noStore marks a response that reflects the request: no cache may keep
// it (it shows the client's own headers) and no search engine index it.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex")
}

// plain writes a short text/plain response.
func plain(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(msg)+1))
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}
