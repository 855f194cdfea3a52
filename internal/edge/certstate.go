package edge

import (
	"time"

	"github.com/forcehttps/forcehttps"
)

// HTTPSReadiness is implemented by a [Certificates] whose certificates
// may not exist yet, such as ACME ones ordered when a domain is added.
// The edge then redirects a plain-HTTP request of an app forcing HTTPS
// only when HTTPSReady says the redirect's HTTPS request will get a
// certificate for the host; until then it serves the request over plain
// HTTP, without HSTS (never sent over plain HTTP anyway), and its access
// log line has the reason "certificate-pending". A domain added to an
// app that forces HTTPS thus keeps working while its certificate is
// ordered, and is redirected from the first request after it is issued,
// without rebuilding anything. A Certificates without this method has
// every host ready.
type HTTPSReadiness interface {
	// HTTPSReady reports whether host (normalized, without a port) has
	// a certificate, or will get one at its first handshake. It is
	// called for every plain-HTTP request that would be redirected, so
	// it must be cheap: no I/O, no lock shared with slow work.
	HTTPSReady(host string) bool
}

// CertificateState is the state of the ACME certificate of one domain,
// for the admin API and the dashboard.
type CertificateState struct {
	// State is "pending", "issued" or "failed"; "" when ACME does not
	// manage the domain (a certificate file or the self-signed
	// certificate serves it).
	State string
	// OnDemand is true when the certificate is ordered at the first
	// handshake naming the domain.
	OnDemand bool
	// Error is why the last order failed, in the CA's words, when State
	// is "failed".
	Error string
	// NextTry is when the next order may start, when State is "failed".
	NextTry time.Time
	// Ready is what [HTTPSReadiness] says of the domain: the edge
	// redirects it to HTTPS (when its app forces HTTPS).
	Ready bool
}

// reasonCertPending is the access log's reason for a request served over
// plain HTTP instead of redirected, because the host's certificate is not
// ready (see [HTTPSReadiness]).
const reasonCertPending = "certificate-pending"

// httpsReady reports whether a redirect to https://host would find a
// certificate (see HTTPSReadiness).
func (s *Server) httpsReady(host string) bool {
	r, ok := s.certs.(HTTPSReadiness)
	return !ok || r.HTTPSReady(host)
}

// holdRedirect turns rt's redirect into serving the request, with the
// reason reasonCertPending, when the host's certificate is not ready.
func (s *Server) holdRedirect(rt *routing) {
	if rt.a == nil || rt.d.Action != forcehttps.Redirect || s.httpsReady(rt.host) {
		return
	}
	d := &rt.d
	d.Action, d.Reason, d.Status, d.Location, d.HSTS = forcehttps.Serve, reasonCertPending, 0, "", ""
}
