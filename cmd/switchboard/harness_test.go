package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// testServer is a real node started through run, on a random loopback port
// with its own data dir.
type testServer struct {
	URL      string
	Metrics  string // base URL of the metrics listener (--metrics-addr)
	Data     string
	stop     context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// addrWriter captures run's stdout and reports the listening address.
type addrWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

var (
	listenRE  = regexp.MustCompile(`listening on (https?://\S+)`)
	metricsRE = regexp.MustCompile(`metrics on (http://\S+)/metrics`)
)

func (w *addrWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := listenRE.FindSubmatch(w.buf.Bytes()); m != nil && w.addr != nil {
		w.addr <- string(m[1])
		w.addr = nil
	}
	return len(p), nil
}

// logWriter keeps a server's log and shows it only when the test fails.
type logWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// startServer runs `switchboard serve` in-process with cheap password
// hashing, a short presence grace period and no send limit unless args
// override them.
func startServer(t testing.TB, args ...string) *testServer {
	t.Helper()
	data := t.TempDir()
	base := []string{"serve", "--addr", "127.0.0.1:0", "--data", data,
		"--argon2-memory", "64", "--argon2-time", "1", "--presence-grace", "300ms",
		"--send-rate", "0", "--signup-rate", "0", "--frame-rate", "0", "--drain-timeout", "2s", "--metrics-addr", "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(context.Background())
	out := &addrWriter{addr: make(chan string, 1)}
	logs := &logWriter{}
	addr := out.addr
	s := &testServer{Data: data, stop: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, append(base, args...), func(string) string { return "" }, out, logs)
	}()
	select {
	case s.URL = <-addr:
		out.mu.Lock()
		if m := metricsRE.FindSubmatch(out.buf.Bytes()); m != nil {
			s.Metrics = string(m[1])
		}
		out.mu.Unlock()
	case err := <-s.done:
		cancel()
		t.Fatalf("server exited before listening: %v\n%s", err, logs.buf.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("server did not start\n%s", logs.buf.String())
	}
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("server log:\n%s", logs.buf.String())
			logs.mu.Unlock()
		}
	})
	if strings.HasPrefix(s.URL, "http://") {
		waitHealthy(t, s.URL) // TLS tests check their servers themselves
	}
	return s
}

// Stop shuts the server down as SIGTERM would and waits for it. It is safe
// to call more than once, from any goroutine.
func (s *testServer) Stop(t testing.TB) {
	s.stopOnce.Do(func() {
		s.stop()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("server stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("server did not stop")
		}
	})
}

func waitHealthy(t testing.TB, url string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", url)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// user signs up and logs in a new account on s.
func user(t testing.TB, s *testServer, name string) *client.Client {
	t.Helper()
	c := client.New(s.URL)
	if _, err := c.Signup(ctxT(t), name, "password-"+name, ""); err != nil {
		t.Fatalf("signup %s: %v", name, err)
	}
	if _, err := c.Login(ctxT(t), name, "password-"+name); err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return c
}

// dial opens a device connection that the test closes at the end.
func dial(t testing.TB, c *client.Client, device string) *client.Conn {
	t.Helper()
	conn, err := c.Dial(ctxT(t), device)
	if err != nil {
		t.Fatalf("dial %s: %v", device, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// next returns the next pushed frame of type typ, skipping others (presence,
// typing and the like arrive interleaved), or fails after a timeout.
func next(t testing.TB, conn *client.Conn, typ string) wire.ServerFrame {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-conn.Events():
			if !ok {
				t.Fatalf("connection ended while waiting for %s: %v", typ, conn.Err())
			}
			if f.Type == typ {
				return f
			}
		case <-timeout:
			t.Fatalf("no %s frame within 10s", typ)
		}
	}
}

// nextMessage returns the next pushed message.
func nextMessage(t testing.TB, conn *client.Conn) wire.Message {
	t.Helper()
	f := next(t, conn, wire.TypeMessage)
	if f.Msg == nil {
		t.Fatalf("message frame without a message: %+v", f)
	}
	return *f.Msg
}

// quiet asserts that no frame of type typ arrives for a short while.
func quiet(t testing.TB, conn *client.Conn, typ string) {
	t.Helper()
	timeout := time.After(300 * time.Millisecond)
	for {
		select {
		case f, ok := <-conn.Events():
			if !ok {
				return
			}
			if f.Type == typ {
				t.Fatalf("unexpected %s frame: %+v", typ, f)
			}
		case <-timeout:
			return
		}
	}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := client.ErrorCode(err); got != code {
		t.Fatalf("error = %v; want code %q", err, code)
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func convByID(cs []wire.Conversation, id string) (wire.Conversation, bool) {
	for _, c := range cs {
		if c.ID == id {
			return c, true
		}
	}
	return wire.Conversation{}, false
}
