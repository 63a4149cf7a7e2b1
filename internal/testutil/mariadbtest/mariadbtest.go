// Package mariadbtest runs a private MariaDB server for one test, which the
// test may stop, kill and start again on the same data directory and port:
// what the failover tests need. The shared servers of scripts/testdb.sh
// serve many tests at once and must never be restarted by one of them.
//
// The server runs from a data directory in t.TempDir(), listens on
// 127.0.0.1 on a free port, and is killed when the test ends (and, through
// the parent-death signal, when the test binary dies). Without mariadbd and
// mariadb-install-db installed the test is skipped, or fails under
// DIEGO_TEST_REQUIRE_DBS=1 as the storage tests do.
package mariadbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// StartTimeout bounds the initialization of the data directory and every
// start of the server.
const StartTimeout = time.Minute

// Server is a private MariaDB.
type Server struct {
	t    testing.TB
	dir  string
	bin  string
	port int

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exited
}

// Start initializes a data directory and starts a server on it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, install := find("mariadbd"), find("mariadb-install-db")
	if bin == "" || install == "" {
		why := "mariadbd or mariadb-install-db is not installed (scripts/install-deps.sh test installs them)"
		if os.Getenv(sqltest.EnvRequireDBs) == "1" {
			t.Fatalf("mariadbtest: MariaDB required (%s=1) but %s", sqltest.EnvRequireDBs, why)
		}
		t.Skipf("mariadbtest: skipping: %s", why)
	}
	s := &Server{t: t, dir: t.TempDir(), bin: bin}
	s.writeConfig(0)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, install, "--defaults-file="+s.cnf(), "--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadbtest: mariadb-install-db: %v\n%s", err, out)
	}
	t.Cleanup(s.Kill)
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		s.writeConfig(s.port)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 3 || !strings.Contains(s.log(), "already in use") {
			t.Fatalf("mariadbtest: %v\n%s", err, s.log())
		}
	}
}

func find(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *Server) cnf() string { return filepath.Join(s.dir, "my.cnf") }

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "mariadb.log"))
	lines := strings.Split(string(b), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// writeConfig writes the server's options: small buffers, no performance
// schema, and commits that survive a crash of the server (the log is
// written at every commit and flushed once a second, so only an OS crash
// could lose commits; a killed mariadbd loses none).
func (s *Server) writeConfig(port int) {
	user := ""
	if os.Geteuid() == 0 {
		user = "user=root"
	}
	cnf := fmt.Sprintf(`[mysqld]
%s
datadir=%s
socket=%s
pid-file=%s
log-error=%s
port=%d
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
max_connections=500
performance_schema=OFF
innodb_buffer_pool_size=64M
innodb_log_file_size=16M
innodb_data_file_path=ibdata1:12M:autoextend
innodb_flush_log_at_trx_commit=2
innodb_doublewrite=OFF
`, user, filepath.Join(s.dir, "data"), filepath.Join(s.dir, "mariadb.sock"), filepath.Join(s.dir, "mariadbd.pid"),
		filepath.Join(s.dir, "mariadb.log"), port)
	if err := os.WriteFile(s.cnf(), []byte(cnf), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// start runs mariadbd and waits until it answers on its port.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, "--defaults-file="+s.cnf())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	db, err := sql.Open("mysql", s.dsn(""))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("mariadbd exited during start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("mariadbd did not answer within %s: %v", StartTimeout, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

func (s *Server) dsn(database string) string {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = s.Addr()
	c.DBName = database
	c.Timeout = 5 * time.Second
	return c.FormatDSN()
}

// Addr is the server's host:port; it stays the same across restarts.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// NewDatabase creates a database and returns a daemon's config for it.
func (s *Server) NewDatabase(name string) sqldb.Config {
	s.t.Helper()
	db, err := sql.Open("mysql", s.dsn(""))
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		s.t.Fatalf("mariadbtest: create database %s: %v", name, err)
	}
	return sqldb.Config{
		DriverName:         string(sqldb.MySQL),
		ConnectionString:   s.dsn(name),
		MaxOpenConnections: 20,
		ConnectionTimeout:  durationjson.Duration(10 * time.Second),
	}
}

// Stop shuts the server down with SIGTERM, as a service manager does, and
// waits until it exited.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill kills the server with SIGKILL and waits until it exited; it does
// nothing when the server is not running.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(StartTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("mariadbtest: mariadbd ignored %v for %s", sig, StartTimeout)
	}
	s.cmd = nil
}

// Restart starts the stopped or killed server again, on the same data
// directory and port, and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("mariadbtest: Restart of a running server")
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("mariadbtest: restart: %v\n%s", err, s.log())
	}
}
