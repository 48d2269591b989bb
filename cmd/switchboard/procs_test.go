package main

// Helpers for the failover tests: real node processes, a private Redis, a
// cuttable TCP proxy and nginx, each stopped when its test ends.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// procBuild builds the switchboard binary once per test process. The binary
// goes next to the test executable when that lives in go test's work dir
// (which go test removes), else into a temp dir.
var procBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// procBinary returns the path of a freshly built switchboard binary, or of
// the binary SWITCHBOARD_TEST_BIN names (to test a release build).
func procBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("SWITCHBOARD_TEST_BIN"); bin != "" {
		return bin
	}
	procBuild.once.Do(func() {
		dir := os.TempDir()
		if exe, err := os.Executable(); err == nil && strings.Contains(exe, "go-build") {
			dir = filepath.Dir(exe)
		}
		dir, err := os.MkdirTemp(dir, "switchboard-failover-")
		if err != nil {
			procBuild.err = err
			return
		}
		procBuild.path = filepath.Join(dir, "switchboard")
		cmd := exec.Command("go", "build", "-o", procBuild.path, ".")
		procBuild.out, procBuild.err = cmd.CombinedOutput()
	})
	if procBuild.err != nil {
		t.Fatalf("go build: %v\n%s", procBuild.err, procBuild.out)
	}
	return procBuild.path
}

// procDatabase creates a database for the test (testenv.Postgres) and
// returns its name and a pool on it for the test's own checks.
func procDatabase(t testing.TB) (string, *pgxpool.Pool) {
	t.Helper()
	dbURL := testenv.Postgres(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", dbURL, err)
	}
	t.Cleanup(pool.Close)
	return strings.TrimPrefix(u.Path, "/"), pool
}

// procDBURL is the URL of database name at addr.
func procDBURL(addr, name string) string {
	return "postgres://postgres@" + addr + "/" + name + "?sslmode=disable"
}

// procNode is one `switchboard serve` process.
type procNode struct {
	ID  string
	URL string // http://127.0.0.1:PORT

	cmd    *exec.Cmd
	logs   *logWriter
	exited chan struct{}
	once   sync.Once
}

var procListenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startProcNode starts a node process on a free loopback port with cheap
// password hashing and no send limit; args come after those and may
// override them. The node is killed when the test ends.
func startProcNode(t testing.TB, id string, args ...string) *procNode {
	t.Helper()
	base := []string{"serve", "--addr", "127.0.0.1:0", "--node-id", id,
		"--argon2-memory", "64", "--argon2-time", "1", "--send-rate", "0", "--signup-rate", "0", "--frame-rate", "0",
		"--presence-grace", "300ms", "--drain-timeout", "1s"}
	cmd := exec.Command(procBinary(t), append(base, args...)...)
	n := &procNode{ID: id, cmd: cmd, logs: &logWriter{}, exited: make(chan struct{})}
	cmd.Stderr = n.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", id, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := procListenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			n.logs.mu.Lock()
			t.Logf("node %s log:\n%s", id, n.logs.buf.String())
			n.logs.mu.Unlock()
		}
	})
	select {
	case n.URL = <-addr:
	case <-n.exited:
		t.Fatalf("node %s exited before listening:\n%s", id, n.logs.buf.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s did not start", id)
	}
	procWaitStatus(t, n.URL+"/healthz", http.StatusOK)
	return n
}

// Kill ends the process with SIGKILL and waits for it.
func (n *procNode) Kill() {
	n.once.Do(func() {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
	})
}

// procStatus returns the HTTP status of GET url, or 0 when it fails.
func procStatus(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// procWaitStatus polls GET url until it answers status.
func procWaitStatus(t testing.TB, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := 0
	for time.Now().Before(deadline) {
		if last = procStatus(url); last == status {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: still %d, want %d", url, last, status)
}

// procRedis is a private redis-server process on a fixed loopback port,
// which a test may kill and start again.
type procRedis struct {
	t    testing.TB
	Addr string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	args   []string // more redis-server arguments (a replica's --replicaof)
	dir    string   // the working dir
}

// startProcRedis starts a private redis-server without persistence; it is
// killed when the test ends.
func startProcRedis(t testing.TB) *procRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Need(t, "redis-server: %v", err)
	}
	port := testenv.FreePort(t)
	r := &procRedis{t: t, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// Start runs redis-server on the port and waits until it answers.
func (r *procRedis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dir == "" {
		r.dir = r.t.TempDir() // a replica's full sync writes an RDB file here
	}
	cmd := exec.Command("redis-server", append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", r.dir}, r.args...)...)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	r.cmd, r.exited = cmd, exited
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr, MaxRetries: -1})
	defer rc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rc.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			r.t.Fatalf("redis-server on port %d exited: %v", r.port, err)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on port %d does not answer: %v", r.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops redis-server with SIGKILL and waits for it.
func (r *procRedis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.cmd = nil
}

var procServersRE = regexp.MustCompile(`(?m)^[ \t]*@SERVERS@[ \t]*$`)

// startProcNginx runs nginx with deploy/nginx.conf in front of the given
// node URLs, in its own prefix dir, and returns its base URL. A missing
// nginx skips the test, or fails it when CI is set.
func startProcNginx(t testing.TB, nodes ...string) string {
	t.Helper()
	url, _ := startProcNginxConf(t, "nginx.conf", nodes...)
	return url
}

// startProcNginxConf is startProcNginx with the named config of deploy/;
// it also returns nginx's prefix dir (logs/access.log is there). A config
// with TLS (@CERT@) gets a certificate for 127.0.0.1 from a test CA, whose
// PEM is left in the prefix dir as ca.pem, and its https URL is returned.
func startProcNginxConf(t testing.TB, name string, nodes ...string) (string, string) {
	t.Helper()
	url, dir, cmd := renderProcNginx(t, name, nodes...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	logs := cmd.Stdout.(*logWriter)
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// SIGTERM, not SIGKILL: the master stops its workers.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", logs.buf.String(), b)
		}
	})
	hc := &http.Client{Timeout: 3 * time.Second}
	if pemCA, err := os.ReadFile(filepath.Join(dir, "ca.pem")); err == nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemCA)
		hc = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, dir
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
			t.Fatalf("nginx exited:\n%s\n%s", logs.buf.String(), b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx at %s does not answer", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// renderProcNginx writes deploy/NAME with its placeholders filled into a
// fresh prefix dir and returns the base URL it will serve, the dir, and the
// command that runs it (not started). Extra args go to nginx (e.g. -t).
func renderProcNginx(t testing.TB, name string, nodes ...string) (string, string, *exec.Cmd) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		testenv.Need(t, "nginx: %v", err)
	}
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "        server %s max_fails=1 fail_timeout=2s;\n", strings.TrimPrefix(n, "http://"))
	}
	listen := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	conf := strings.ReplaceAll(string(tmpl), "@LISTEN@", listen)
	conf = procServersRE.ReplaceAllLiteralString(conf, servers.String())
	dir := t.TempDir()
	for _, d := range []string{"logs", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	url := "http://" + listen
	if strings.Contains(conf, "@CERT@") {
		ca := newTestCA(t)
		cert, key := ca.issue(t, dir)
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.PEM, 0o644); err != nil {
			t.Fatal(err)
		}
		conf = strings.NewReplacer("@CERT@", cert, "@KEY@", key,
			"@HTTP_LISTEN@", "127.0.0.1:"+strconv.Itoa(testenv.FreePort(t))).Replace(conf)
		url = "https://" + listen
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &logWriter{}
	cmd := exec.Command(bin, "-p", dir, "-e", "logs/error.log", "-c", confPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	return url, dir, cmd
}
