// Package pgtest runs throwaway PostgreSQL servers for tests.
//
// A test calls [Start] and gets the URL of a database of its own. The
// server behind it is shared by every test of the test binary when the
// package's TestMain calls [Main] (one initdb per binary, one CREATE
// DATABASE per test: tens of milliseconds instead of seconds); without
// [Main] each test gets a private server, removed at the end of the test.
// A test that stops and restarts the server ("the database is down") takes
// a private one with [New], so that it never disturbs its neighbours.
//
// The server is Debian's postgresql package (scripts/postgres.sh installs
// it): initdb into a temporary directory, then postgres listening on a free
// port of 127.0.0.1 only, with Unix sockets disabled, fsync off and
// password (SCRAM) authentication for the superuser [User]. initdb and
// postgres refuse to run as root, so when the tests run as root the server
// runs as the package's postgres user (or nobody), which owns the
// temporary directory.
//
// When the binaries are missing the test is skipped with the reason, except
// when CI is set, where it fails: CI must run these tests.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/forcehttps/forcehttps/internal/testutil"
)

// User and Password are the superuser's credentials on every server.
const (
	User     = "forcehttps"
	Password = "pgtest-secret"
)

// readyTimeout bounds the wait for a server to accept connections.
const readyTimeout = 60 * time.Second

// Server is one running (or stopped) PostgreSQL server.
type Server struct {
	bin  string // directory of initdb, pg_ctl and postgres
	dir  string // temporary directory: data/, postgres.log
	port int
	cred *syscall.Credential // nil when not running as root

	mu   sync.Mutex
	cmd  *exec.Cmd     // nil when stopped
	done chan struct{} // closed when cmd has exited
	log  *os.File
}

var (
	mainRunning atomic.Bool
	sharedOnce  sync.Once
	shared      *Server
	sharedErr   error
	dbSeq       atomic.Int64
)

// Main runs the tests of a package with one server shared by all of them,
// started on first use, and stops it at the end. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if shared != nil {
		shared.shutdown()
	}
	os.Exit(code)
}

// Start returns the URL of a new, empty database on a running server: the
// binary's shared server under [Main], otherwise a private one that is
// removed when the test ends. The database is dropped when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	if !mainRunning.Load() {
		return New(t).NewDatabase(t)
	}
	sharedOnce.Do(func() {
		shared, sharedErr = launch()
	})
	if sharedErr != nil {
		unavailable(t, sharedErr)
	}
	return shared.NewDatabase(t)
}

// New starts a private server for this test and removes it when the test
// ends. Use it to stop and restart the server ([Server.Stop],
// [Server.Start]).
func New(t testing.TB) *Server {
	t.Helper()
	s, err := launch()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(s.shutdown)
	return s
}

// errMissing marks the absence of the PostgreSQL binaries.
var errMissing = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; run scripts/postgres.sh or set PG_BIN")

// unavailable ends the test: skipped (failed under CI) when the binaries
// are missing, failed for anything else.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errMissing) {
		testutil.MissingTool(t, "pgtest: "+err.Error())
	}
	t.Fatalf("pgtest: %v", err)
}

// Addr is the server's host:port on loopback.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the connection URL of database on this server, as [User]. It
// stays valid across [Server.Stop] and [Server.Start] (same port).
func (s *Server) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(User, Password),
		Host:     s.Addr(),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// NewDatabase creates an empty database and returns its URL. The database
// is dropped (connections and all) when the test ends, if the server is
// running then.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.admin(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if s.Running() {
			if err := s.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Logf("pgtest: drop database %s: %v", name, err)
			}
		}
	})
	return s.URL(name)
}

// admin runs one statement in the postgres maintenance database.
func (s *Server) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// Running reports whether the server process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Stop stops the server (fast shutdown: open connections are closed). The
// data stay; [Server.Start] brings the same server back on the same port.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

// Start starts a stopped server again and waits until it accepts
// connections. It does nothing if the server is running.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: start: %v", err)
	}
}

// Log returns what the server wrote to its log so far (for failure
// messages).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return string(b)
}

// launch creates, initialises and starts a server on a free port.
func launch() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		if s.cred, err = unprivileged(); err != nil {
			return nil, err
		}
	}
	if s.dir, err = os.MkdirTemp(tempBase(s.cred), "forcehttps-pgtest-"); err != nil {
		return nil, err
	}
	fail := func(err error) (*Server, error) {
		s.shutdown()
		return nil, err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fail(err)
		}
	}
	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if s.cred != nil {
		if err := os.Chown(pwfile, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fail(err)
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", filepath.Join(s.dir, "data"), "-U", User, "--pwfile", pwfile,
		"--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	initdb.Dir = s.dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	os.Remove(pwfile)
	// A free port can be taken between the probe and postgres' bind: retry.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return fail(err)
		}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			return fail(err)
		}
	}
}

// start runs postgres in the foreground as a child process, so that it
// cannot outlive the test binary (Pdeathsig) and needs no pid-file dance.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, "postgres"),
		"-D", filepath.Join(s.dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(s.port),
		"-c", "unix_socket_directories=",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// SIGQUIT: immediate shutdown if the test binary dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	if err := startOnSpawner(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done, s.log = cmd, done, logf
	if err := s.waitReady(done); err != nil {
		s.kill()
		return fmt.Errorf("%w\n%s", err, s.tail())
	}
	return nil
}

// The kernel sends Pdeathsig when the thread that started the child
// exits, not the process, and the Go runtime may retire threads. Children
// are therefore started from one goroutine locked to its thread for the
// life of the test binary.
var (
	spawnOnce sync.Once
	spawnReqs = make(chan spawnReq)
)

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

func startOnSpawner(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawnReqs {
				r.err <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	spawnReqs <- r
	return <-r.err
}

// waitReady polls until the server accepts a connection, the process
// exits, or readyTimeout passes.
func (s *Server) waitReady(done <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	delay := 10 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("postgres exited during start-up: %v", err)
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %v", readyTimeout, err)
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	// SIGINT: fast shutdown (abort transactions, close connections).
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.kill()
		return errors.New("postgres did not stop within 30s; killed")
	}
	s.log.Close()
	s.cmd = nil
	return nil
}

// kill ends the process at once; s.mu is held.
func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.log.Close()
	s.cmd = nil
}

// shutdown stops the server and removes its directory.
func (s *Server) shutdown() {
	if err := s.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// tail is the end of the server log, for error messages.
func (s *Server) tail() string {
	l := s.Log()
	if len(l) > 2000 {
		l = "…" + l[len(l)-2000:]
	}
	return l
}

// findBin finds the directory of the server binaries: $PG_BIN, the newest
// /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH), or PATH.
func findBin() (string, error) {
	ok := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("PG_BIN"); dir != "" {
		if ok(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("PG_BIN=%q holds no initdb and postgres: %w", dir, errMissing)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) }) // newest first
	if i := slices.IndexFunc(dirs, ok); i >= 0 {
		return dirs[i], nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil && ok(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	return "", errMissing
}

// versionOf reads the major version in /usr/lib/postgresql/<version>/bin.
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// unprivileged is the user the server runs as when the tests run as root.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("running as root, and neither the postgres nor the nobody user exists to run the server as")
}

// tempBase is where the server's directory goes: the usual temporary
// directory, unless the server runs as another user who could not reach
// it (a TMPDIR inside root's home), then /tmp.
func tempBase(cred *syscall.Credential) string {
	base := os.TempDir()
	if cred == nil {
		return base
	}
	for dir := base; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if dir == filepath.Dir(dir) {
			return base
		}
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
