package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/web"
)

// env is what TestMain prepares for every test: the built binary and one
// shared node.
type env struct {
	bin    string // the switchboard binary
	root   string // the module root
	shared *node
	front  string // base URL browsers open for the shared node
}

var suite env

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "switchboard-web-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		fmt.Fprintln(os.Stderr, "go env GOMOD:", err)
		return 1
	}
	suite.root = filepath.Dir(strings.TrimSpace(string(out)))
	suite.bin = filepath.Join(tmp, "switchboard")
	build := exec.Command("go", "build", "-o", suite.bin, "./cmd/switchboard")
	build.Dir = suite.root
	if b, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build switchboard: %v\n%s", err, b)
		return 1
	}
	n, err := startNode(suite.bin, "127.0.0.1:0", filepath.Join(tmp, "shared"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer n.stop()
	suite.shared = n
	front, closeFront := frontOf(n.addr)
	defer closeFront()
	suite.front = front
	return m.Run()
}

// node is one switchboard serve process.
type node struct {
	addr string
	data string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

// lockedWriter collects a process's stderr for failure reports.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// startNode runs the binary on addr and data dir (with extra flags) and
// waits until it listens.
func startNode(bin, addr, data string, extra ...string) (*node, error) {
	n := &node{data: data, log: new(bytes.Buffer), mu: new(sync.Mutex), done: make(chan struct{})}
	n.cmd = exec.Command(bin, "serve", "--addr", addr, "--data", data,
		"--argon2-memory", "64", "--argon2-time", "1", "--send-rate", "0", "--signup-rate", "0", "--frame-rate", "0",
		"--presence-grace", "1s", "--drain-timeout", "5s")
	n.cmd.Args = append(n.cmd.Args, extra...)
	n.cmd.Stderr = lockedWriter{n.mu, n.log}
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start switchboard: %w", err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.done)
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "listening on http://"); i >= 0 {
				select {
				case found <- strings.Fields(line[i+len("listening on http://"):])[0]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case n.addr = <-found:
		return n, nil
	case <-n.done:
		return nil, fmt.Errorf("switchboard exited before listening:\n%s", n.stderr())
	case <-time.After(30 * time.Second):
		n.kill()
		return nil, fmt.Errorf("switchboard did not report its address:\n%s", n.stderr())
	}
}

func (n *node) stderr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// stop ends the process with SIGTERM (it drains) and waits for it.
func (n *node) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.kill()
	}
}

func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
}

// frontOf returns the base URL a browser opens for the node at addr. When
// the node serves the client itself it is the node; otherwise a local front
// serves web.Handler and passes the API and WebSocket through to the node,
// the same routes a node that embeds the client has.
func frontOf(addr string) (string, func()) {
	base := "http://" + addr
	if servesClient(base) {
		return base, func() {}
	}
	target, _ := url.Parse(base)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		// A node that is down (restart tests) is a 502, not a log line.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.Handle("/v1/", proxy)
	mux.Handle("/healthz", proxy)
	srv := httptest.NewServer(mux)
	return srv.URL, srv.Close
}

func servesClient(base string) bool {
	res, err := http.Get(base + "/")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`src="app.js"`))
}

// ---- browser

// browser is one headless Chromium; each user gets its own browser context,
// so storage and cookies are apart as in two separate browsers.
type browser struct {
	ctx       context.Context
	artifacts string
}

const waitFor = 45 * time.Second

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := os.Getenv("SWITCHBOARD_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if p, err2 := exec.LookPath("chromium"); err2 == nil {
			path = p
		} else if os.Getenv("CI") != "" {
			t.Fatalf("chromium is missing (%v); scripts/test installs it", err)
		} else {
			t.Skipf("chromium is missing (%v); install it to run the browser tests", err)
		}
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 720),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	dir := os.Getenv("SWITCHBOARD_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{ctx: ctx, artifacts: dir}
}

// page is one user's tab in its own browser context.
type page struct {
	t     *testing.T
	b     *browser
	ctx   context.Context
	close context.CancelFunc // closes the tab, as a user closing it
	name  string
}

func (b *browser) page(t *testing.T, name string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Every tab acts focused, as if the user looked at it: read receipts
	// depend on focus.
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
	if err != nil {
		t.Fatalf("open tab for %s: %v", name, err)
	}
	// Any uncaught JavaScript error fails the test.
	var mu sync.Mutex
	var thrown []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok && e.ExceptionDetails != nil {
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			thrown = append(thrown, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range thrown {
			t.Errorf("%s: uncaught JavaScript error: %s", name, e)
		}
	})
	return &page{t: t, b: b, ctx: ctx, close: cancel, name: name}
}

// do runs actions with a deadline; on failure it saves a screenshot and
// fails the test with the page's text.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

func (p *page) fail(what string, err error) {
	p.t.Helper()
	p.screenshot("failure")
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	msgs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll('#messages li')].map(li => [li.dataset.seq, li.dataset.status, li.textContent]))`))
	p.t.Fatalf("%s: %s: %v\n--- messages: %s\n--- page text:\n%s", p.name, what, err, msgs, body)
}

// waitJS waits until the JavaScript expression is truthy.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	p.do(what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`!!(`+expr+`)`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitFor))(ctx, t)
		return err
	}))
}

// eval returns the value of a JavaScript expression.
func evalJS[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

func (p *page) screenshot(label string) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", label, err)
		return nil
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(p.t.Name()) + "-" + p.name + "-" + label + ".png"
	path := filepath.Join(p.b.artifacts, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("save screenshot: %v", err)
	} else {
		p.t.Logf("screenshot: %s", path)
	}
	return png
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- user steps

func (p *page) open(base string) {
	p.t.Helper()
	p.do("open "+base, chromedp.Navigate(base))
}

func (p *page) signup(base, password string) {
	p.t.Helper()
	p.open(base)
	p.do("sign up",
		chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), p.name),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("signup-submit")),
		chromedp.WaitVisible(chromedp.ID("app")),
	)
	p.waitOnline()
}

// waitOnline waits until the client is connected (no banner, green dot).
func (p *page) waitOnline() {
	p.t.Helper()
	p.waitJS("connected", `document.getElementById('banner').hidden && document.getElementById('me-dot').classList.contains('online')`)
}

func (p *page) startDirect(peer string) {
	p.t.Helper()
	p.do("start a chat with "+peer,
		chromedp.SendKeys(chromedp.ID("dm-user"), peer),
		chromedp.Click(chromedp.ID("dm-start")),
		chromedp.WaitVisible(chromedp.ID("composer")),
	)
	p.waitJS("title is "+peer, `document.getElementById('conv-title').textContent === `+js(peer))
}

// openConv clicks the conversation named name in the list.
func (p *page) openConv(name string) {
	p.t.Helper()
	// Found and clicked in one step: the list re-renders as events arrive.
	p.waitJS("open "+name, `(() => {
		const b = [...document.querySelectorAll('#conv-list li button')].find(b => b.querySelector('.conv-name').textContent === `+js(name)+`);
		if (!b) return false;
		b.click();
		return true;
	})()`)
	p.do("composer shown", chromedp.WaitVisible(chromedp.ID("composer")))
	p.waitJS("title is "+name, `document.getElementById('conv-title').textContent === `+js(name))
}

// send types text into the composer and presses Enter.
func (p *page) send(text string) {
	p.t.Helper()
	p.do("send "+text, chromedp.Focus(chromedp.ID("compose")), chromedp.SendKeys(chromedp.ID("compose"), text+"\r"))
}

// typeText types into the composer (a trailing "\r" presses Enter).
func (p *page) typeText(text string) {
	p.t.Helper()
	p.do("type "+text, chromedp.Focus(chromedp.ID("compose")), chromedp.SendKeys(chromedp.ID("compose"), text))
}

// msgsWith is a JS expression listing the message items showing text.
func msgsWith(text string) string {
	return `[...document.querySelectorAll('#messages li.msg')].filter(li => li.querySelector('.text').textContent === ` + js(text) + `)`
}

func (p *page) waitMessage(text string) {
	p.t.Helper()
	p.waitJS("message "+text+" shown", msgsWith(text)+`.length > 0`)
}

// waitStatus waits until the user's own message text shows status.
func (p *page) waitStatus(text, status string) {
	p.t.Helper()
	p.waitJS("message "+text+" is "+status, msgsWith(text)+`.some(li => li.dataset.status === `+js(status)+`)`)
}

func (p *page) countMessages(text string) int {
	p.t.Helper()
	return evalJS[int](p, msgsWith(text)+`.length`)
}

// discard turns an action with a result into one without.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := a(ctx, t)
		return err
	})
}

// cutter is a front for one user that can cut that user's link to the
// node: while cut it drops every connection through it and answers API calls
// with 502, while the page itself still loads (as from a cache) and the node
// and the other users go on.
type cutter struct {
	srv   *httptest.Server
	down  atomic.Bool
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// newCutter serves the client and passes /v1/ through to the front at base.
func newCutter(t *testing.T, base string) *cutter {
	t.Helper()
	target, _ := url.Parse(base)
	proxy := &httputil.ReverseProxy{
		Rewrite:      func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	c := &cutter{conns: make(map[net.Conn]struct{})}
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.down.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	c.srv = httptest.NewUnstartedServer(mux)
	c.srv.Config.ConnState = func(conn net.Conn, st http.ConnState) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch st {
		case http.StateNew:
			c.conns[conn] = struct{}{}
		case http.StateClosed:
			delete(c.conns, conn)
		}
	}
	c.srv.Start()
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cutter) URL() string { return c.srv.URL }

// cut drops every connection, upgraded ones included, and refuses new requests.
func (c *cutter) cut() {
	c.down.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.conns {
		_ = conn.Close()
	}
}

func (c *cutter) restore() { c.down.Store(false) }
