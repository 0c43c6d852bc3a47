package cbtest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couchbase/gocb/v2"
)

// Environment variables that point the tests at an existing cluster.
const (
	EnvConnStr  = "FLAMINGOCK_COUCHBASE_CONNSTR"
	EnvUser     = "FLAMINGOCK_COUCHBASE_USER"
	EnvPassword = "FLAMINGOCK_COUCHBASE_PASSWORD"
)

// The credentials and bucket gocaves provides.
const (
	DefaultUser     = "Administrator"
	DefaultPassword = "password"
	Bucket          = "default"
)

// Server is a running cluster the tests can connect to.
type Server struct {
	// ConnStr is the connection string, couchbase://host:port,...
	ConnStr  string
	User     string
	Password string

	cmd     *exec.Cmd
	drained chan struct{}
}

var (
	startOnce sync.Once
	shared    *Server
	startErr  error
)

// Main runs the package's tests and stops the gocaves process, if one was
// started, before exiting. Call it from TestMain:
//
//	func TestMain(m *testing.M) { cbtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Shared returns the package's cluster, starting gocaves on first use. It
// skips t (fails it under CI=true) when no cluster can be had.
func Shared(t testing.TB) *Server {
	t.Helper()
	startOnce.Do(func() { shared, startErr = start() })
	if startErr != nil {
		unavailable(t, startErr)
	}
	return shared
}

// start uses the cluster named by the environment, or starts gocaves.
func start() (*Server, error) {
	if cs := os.Getenv(EnvConnStr); cs != "" {
		return &Server{ConnStr: cs, User: envOr(EnvUser, DefaultUser), Password: envOr(EnvPassword, DefaultPassword)}, nil
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	return StartGocaves(bin)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("cbtest: no Couchbase cluster for this test: %v\n"+
		"gocaves is built from the Go module proxy on first use; or set %s to a running cluster", err, EnvConnStr)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// StartGocaves starts the gocaves binary bin in mock-only mode and waits for
// it to announce its connection string.
func StartGocaves(bin string) (*Server, error) {
	cmd := exec.Command(bin, "--mock-only")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gocaves %s: %w", bin, err)
	}
	s := &Server{User: DefaultUser, Password: DefaultPassword, cmd: cmd, drained: make(chan struct{})}
	found := make(chan string, 1)
	var tail strings.Builder // what gocaves said before the connection string, for the error
	go func() {
		defer close(s.drained)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		announced := false
		for sc.Scan() {
			if announced {
				continue // keep draining so gocaves never blocks on a full pipe
			}
			line := sc.Bytes()
			var msg struct {
				ConnStr string `json:"connstr"`
			}
			if json.Unmarshal(line, &msg) == nil && msg.ConnStr != "" {
				announced = true
				found <- msg.ConnStr
				continue
			}
			if tail.Len() < 4096 {
				tail.Write(line)
				tail.WriteByte('\n')
			}
		}
		if !announced {
			close(found)
		}
	}()
	select {
	case cs, ok := <-found:
		if !ok {
			_ = cmd.Wait()
			return nil, fmt.Errorf("gocaves exited without announcing a connection string: %s", tail.String())
		}
		s.ConnStr = cs
		return s, nil
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, errors.New("gocaves did not announce a connection string within 30s")
	}
}

// Stop ends the gocaves process. It does nothing for an external cluster.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.drained
	_ = s.cmd.Wait()
}

// Options returns cluster options with the server's credentials and
// compression off, as gocb's own tests against gocaves use.
func (s *Server) Options() gocb.ClusterOptions {
	return gocb.ClusterOptions{
		Authenticator:     gocb.PasswordAuthenticator{Username: s.User, Password: s.Password},
		CompressionConfig: gocb.CompressionConfig{Disabled: true},
	}
}

// Connect opens a cluster connection, waits until the "default" bucket is
// ready and closes the connection when the test ends. configure, when
// given, adjusts the options first (a tracer, a transactions config).
func (s *Server) Connect(t testing.TB, configure ...func(*gocb.ClusterOptions)) *gocb.Cluster {
	t.Helper()
	c, err := s.Open(configure...)
	if err != nil {
		t.Fatalf("cbtest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(nil) })
	return c
}

// Open is Connect without a test: the caller closes the cluster. Crash
// tests' child processes use it.
func (s *Server) Open(configure ...func(*gocb.ClusterOptions)) (*gocb.Cluster, error) {
	opts := s.Options()
	for _, c := range configure {
		c(&opts)
	}
	c, err := gocb.Connect(s.ConnStr, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.ConnStr, err)
	}
	if err := c.Bucket(Bucket).WaitUntilReady(20*time.Second, nil); err != nil {
		_ = c.Close(nil)
		return nil, fmt.Errorf("bucket %q on %s not ready: %w", Bucket, s.ConnStr, err)
	}
	return c, nil
}

// Connect is Shared(t).Connect(t, configure...).
func Connect(t testing.TB, configure ...func(*gocb.ClusterOptions)) *gocb.Cluster {
	t.Helper()
	return Shared(t).Connect(t, configure...)
}

// Prefix returns a key prefix unique to this call, so that tests sharing the
// package's cluster never see each other's documents.
func Prefix(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("cbtest: random prefix: %v", err)
	}
	return "t" + hex.EncodeToString(b[:])
}
