package edge

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/forcehttps/forcehttps/internal/config"
)

// ErrNoConfigFile is returned by [Server.ReloadFile] when the server was
// not given a configuration file.
var ErrNoConfigFile = errors.New("edge: no configuration file to reload (started with the embedded default?)")

// Reload switches to cfg: it validates it (unless it is known valid, as
// for [New]), builds a new routing table,
// runs the reload hook, tells the certificate manager the new domains,
// then swaps the table atomically. Requests in flight finish with the
// table they started with; new requests get the new one. On any error the
// current configuration keeps serving and the error says why.
//
// Listener addresses, timeouts.read_header, timeouts.idle,
// timeouts.shutdown, limits.max_header_bytes, the access log and the
// admin listener apply only at the next start; a reload that changes them
// logs a warning. The other timeouts apply to the requests that start
// after the reload (client_idle's connection-wide uses, the fast path's
// writes and HTTP/2's write stall, at the next start).
func (s *Server) Reload(ctx context.Context, cfg *config.Config) error {
	err := s.reload(ctx, cfg)
	s.m.reload(err == nil)
	if err != nil {
		s.log.Error("edge: configuration reload refused; the previous configuration keeps serving", "error", err.Error())
		return err
	}
	releaseBuildGarbage(len(cfg.Apps))
	s.log.Info("edge: configuration reloaded", "apps", len(cfg.Apps))
	return nil
}

func (s *Server) reload(ctx context.Context, cfg *config.Config) error {
	if cfg == nil {
		return errors.New("edge: reload: no configuration")
	}
	if err := validate(cfg); err != nil {
		return fmt.Errorf("edge: reload: %w", err)
	}
	for i := range cfg.Apps {
		if name, ok := cfg.Apps[i].BuiltinName(); ok && s.o.builtins[name] == nil {
			return fmt.Errorf("edge: reload: apps[%d].upstream: builtin %q is not available in this program", i, name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.listening || s.closed {
		return errors.New("edge: reload: the server is not running")
	}
	cur := s.snap.Load()
	raw := cfg
	cfg, err := s.applyOverlay(cfg)
	if err != nil {
		return fmt.Errorf("edge: reload: %w", err)
	}
	sn, err := s.build(cfg)
	if err != nil {
		s.stopBuiltins(cur)
		s.dropStaleMetrics(cur)
		return fmt.Errorf("edge: reload: %w", err)
	}
	if s.o.reloadHook != nil {
		if err := s.o.reloadHook(ctx, cfg); err != nil {
			s.stopBuiltins(cur)
			s.dropStaleMetrics(cur)
			return fmt.Errorf("edge: reload: %w", err)
		}
	}
	if err := s.certs.ManageDomains(ctx, sn.domains()); err != nil {
		s.stopBuiltins(cur)
		s.dropStaleMetrics(cur)
		return fmt.Errorf("edge: reload: certificates: %w", err)
	}
	s.install(sn)
	s.raw = raw
	if keys := restartOnly(s.base, cfg); len(keys) > 0 {
		s.log.Warn("edge: these settings changed but apply only after a restart", "keys", keys)
	}
	return nil
}

// restartOnly lists the keys that differ between the configuration the
// server started with and cfg, among those a reload cannot apply.
func restartOnly(base, cfg *config.Config) []string {
	var keys []string
	diff := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			keys = append(keys, key)
		}
	}
	diff("listen.http", base.Listen.HTTP, cfg.Listen.HTTP)
	diff("listen.https", base.Listen.HTTPS, cfg.Listen.HTTPS)
	diff("admin", base.Admin, cfg.Admin)
	bt, ct := base.Timeouts, cfg.Timeouts
	diff("timeouts.read_header", bt.ReadHeader, ct.ReadHeader)
	diff("timeouts.idle", bt.Idle, ct.Idle)
	diff("timeouts.shutdown", bt.Shutdown, ct.Shutdown)
	diff("limits.max_header_bytes", base.Limits.MaxHeaderBytes, cfg.Limits.MaxHeaderBytes)
	diff("access_log", base.AccessLog, cfg.AccessLog)
	return keys
}

// ReloadFile loads the configuration file given with [WithConfigFile] and
// reloads it ([Server.Reload]). SIGHUP calls it.
func (s *Server) ReloadFile(ctx context.Context) error {
	if s.o.configFile == "" {
		return ErrNoConfigFile
	}
	data, err := os.ReadFile(s.o.configFile)
	if err == nil {
		s.mu.Lock()
		s.fileHash = sha256.Sum256(data)
		s.mu.Unlock()
	}
	cfg, err := config.Load(s.o.configFile)
	if err != nil {
		s.m.reload(false)
		s.log.Error("edge: configuration reload refused; the previous configuration keeps serving", "file", s.o.configFile, "error", err.Error())
		return err
	}
	return s.Reload(ctx, cfg)
}

// watch reloads the configuration file when its content changes, checked
// every poll interval. Editors that replace the file (rename over it) and
// those that rewrite it in place are both seen, and a file that
// disappears for a moment is skipped until it is back.
func (s *Server) watch(ctx context.Context) {
	if data, err := os.ReadFile(s.o.configFile); err == nil {
		s.mu.Lock()
		if s.fileHash == ([32]byte{}) {
			s.fileHash = sha256.Sum256(data)
		}
		s.mu.Unlock()
	}
	t := time.NewTicker(s.o.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := os.ReadFile(s.o.configFile)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(data)
		s.mu.Lock()
		changed := sum != s.fileHash
		s.mu.Unlock()
		if changed {
			s.log.Info("edge: configuration file changed; reloading", "file", s.o.configFile)
			s.ReloadFile(ctx) // logs its own outcome
		}
	}
}
