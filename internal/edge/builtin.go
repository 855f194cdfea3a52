package edge

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// builtinServer serves a builtin upstream on a loopback port. Its handler
// is swapped with the snapshots, so that a reload changes it atomically.
type builtinServer struct {
	ln  net.Listener
	srv *http.Server
	h   atomic.Pointer[http.Handler]
}

func (b *builtinServer) set(h http.Handler) { b.h.Store(&h) }

func (b *builtinServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := b.h.Load()
	if h == nil {
		http.Error(w, "503 Service Unavailable: starting", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// startBuiltin returns the address of the builtin server of an app,
// starting it on 127.0.0.1 with a port of the system's choosing. Called
// with s.mu held.
func (s *Server) startBuiltin(app string) (string, error) {
	if b := s.builtins[app]; b != nil {
		return b.ln.Addr().String(), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	b := &builtinServer{ln: ln}
	b.srv = &http.Server{
		Handler:           b,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	s.builtins[app] = b
	go b.srv.Serve(ln)
	return ln.Addr().String(), nil
}

// stopBuiltins stops the builtin servers that keep (nil: all) does not
// use, letting their in-flight requests finish in the background. Called
// with s.mu held.
func (s *Server) stopBuiltins(keep *snapshot) {
	for name, b := range s.builtins {
		if keep != nil {
			if _, used := keep.builtins[name]; used {
				continue
			}
		}
		delete(s.builtins, name)
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), s.base.Timeouts.Shutdown)
			defer cancel()
			if b.srv.Shutdown(ctx) != nil {
				b.srv.Close()
			}
		}()
	}
}
