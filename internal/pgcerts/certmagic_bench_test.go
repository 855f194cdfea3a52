package pgcerts

import (
	"fmt"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// BenchmarkCacheManagedCertificate measures what a replica does per name
// at start: certmagic loads a certificate's key, chain and metadata from
// storage and parses them (Manager.ManageDomains, for each name). One op
// is one name; 100 000 names take 100 000 times as long. Compared: the
// file storage of a single node, this storage, and this storage behind a
// warm local cache (certs.ACME.LocalCache).
func BenchmarkCacheManagedCertificate(b *testing.B) {
	const names = 500
	ca := testutil.NewCA(b, testutil.CAOptions{})
	pg := newStorage(b, newPool(b), Options{})
	setups := []struct {
		name  string
		store certmagic.Storage
		local certmagic.Storage
	}{
		{"file", &certmagic.FileStorage{Path: b.TempDir()}, nil},
		{"postgres", pg, nil},
		{"postgres+localcache", pg, &certmagic.FileStorage{Path: b.TempDir()}},
	}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			ctx := ctxT(b)
			var cfg *certmagic.Config
			cache := certmagic.NewCache(certmagic.CacheOptions{
				GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
			})
			defer cache.Stop()
			cfg = certmagic.New(cache, certmagic.Config{Storage: s.store, LocalCache: s.local})
			issuer := certmagic.NewACMEIssuer(cfg, certmagic.ACMEIssuer{CA: "https://127.0.0.1:1/directory"})
			cfg.Issuers = []certmagic.Issuer{issuer}
			ik := issuer.IssuerKey()
			name := func(i int) string { return fmt.Sprintf("n%d.example.com", i%names) }
			if _, err := s.store.Stat(ctx, certmagic.StorageKeys.SiteMeta(ik, name(0))); err != nil {
				for i := range names {
					leaf := ca.Issue(b, testutil.LeafOptions{Names: []string{name(i)}})
					for k, v := range map[string][]byte{
						certmagic.StorageKeys.SiteCert(ik, name(i)):       leaf.ChainPEM(),
						certmagic.StorageKeys.SitePrivateKey(ik, name(i)): leaf.KeyPEM(),
						certmagic.StorageKeys.SiteMeta(ik, name(i)):       []byte(`{"sans":["` + name(i) + `"]}`),
					} {
						if err := s.store.Store(ctx, k, v); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			if s.local != nil { // warm: a replica that ran before
				for i := range names {
					if err := cfg.WarmLocalCache(ctx, name(i)); err != nil {
						b.Fatal(err)
					}
				}
			}
			i := 0
			for b.Loop() {
				if _, err := cfg.CacheManagedCertificate(ctx, name(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
