package edge

import (
	"crypto/tls"

	"github.com/forcehttps/forcehttps/internal/certfile"
	"github.com/forcehttps/forcehttps/internal/config"
)

// adminTLS returns the TLS configuration of the admin listener: TLS 1.2
// or later, with the pair of t, read again when its files change.
func (s *Server) adminTLS(t *config.AdminTLS) (*tls.Config, error) {
	r, err := certfile.NewReloader(t.CertFile, t.KeyFile, 0, func(err error) {
		if err != nil {
			s.log.Error("edge: admin certificate files changed but are not usable; the previous pair is served",
				"cert_file", t.CertFile, "key_file", t.KeyFile, "error", err.Error())
			return
		}
		s.log.Info("edge: admin certificate reloaded", "cert_file", t.CertFile)
	})
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}, nil
}
