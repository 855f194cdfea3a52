package certfile

import (
	"bytes"
	"crypto/tls"
	"os"
	"sync"
	"time"
)

// Reloader serves a certificate pair read from files, and reads them
// again when their content changes: a renewed certificate is served
// without a restart. A pair that no longer passes [Parse] (half written,
// key of another certificate) is not taken: the last good one stays.
type Reloader struct {
	certFile, keyFile string
	every             time.Duration
	now               func() time.Time

	mu       sync.Mutex
	cert     *tls.Certificate
	certPEM  []byte
	keyPEM   []byte
	checked  time.Time
	lastErr  error
	onChange func(err error)
}

// NewReloader reads and checks the pair, and returns a Reloader that
// looks at the files again at most every interval (zero: 2s) when a
// certificate is asked for. onChange, if not nil, is called after each
// reading of changed files with its outcome.
func NewReloader(certFile, keyFile string, every time.Duration, onChange func(err error)) (*Reloader, error) {
	if every <= 0 {
		every = 2 * time.Second
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, every: every, now: time.Now, onChange: onChange}
	certPEM, keyPEM, err := r.read()
	if err != nil {
		return nil, err
	}
	cert, err := Parse(certPEM, keyPEM, r.now())
	if err != nil {
		return nil, err
	}
	r.cert, r.certPEM, r.keyPEM, r.checked = cert, certPEM, keyPEM, r.now()
	return r, nil
}

func (r *Reloader) read() ([]byte, []byte, error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// Certificate returns the pair, read again first if the files changed
// since the last look, more than the interval ago.
func (r *Reloader) Certificate() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checked) < r.every {
		return r.cert
	}
	r.checked = now
	certPEM, keyPEM, err := r.read()
	if err == nil && bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM) {
		return r.cert
	}
	var cert *tls.Certificate
	if err == nil {
		cert, err = Parse(certPEM, keyPEM, now)
	}
	if err == nil {
		r.cert, r.certPEM, r.keyPEM = cert, certPEM, keyPEM
	}
	if r.onChange != nil && (err == nil || r.lastErr == nil || err.Error() != r.lastErr.Error()) {
		r.onChange(err)
	}
	r.lastErr = err
	return r.cert
}

// GetCertificate is Certificate for [tls.Config.GetCertificate].
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}
