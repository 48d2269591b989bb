package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// pebble is a Pebble ACME test server run by one test.
type pebble struct {
	DirURL string // ACME directory
	CAFile string // PEM of the CA of Pebble's own HTTPS listener
	mgmt   string // management API base URL
	ca     *testCA
}

// startPebble runs Pebble (scripts/test installs it) on loopback ports with
// every challenge taken as valid (PEBBLE_VA_ALWAYS_VALID), so no DNS or
// reachability is needed. A missing pebble skips, or fails in CI.
func startPebble(t *testing.T) *pebble {
	t.Helper()
	bin, err := exec.LookPath("pebble")
	if err != nil {
		gobin := filepath.Join(goEnv(t, "GOPATH"), "bin", "pebble")
		if _, serr := os.Stat(gobin); serr != nil {
			testenv.Need(t, "pebble (go install github.com/letsencrypt/pebble/v2/cmd/pebble): %v", err)
		}
		bin = gobin
	}
	dir := t.TempDir()
	ca := newTestCA(t)
	certPath, keyPath := ca.issue(t, dir)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	port, mgmtPort := testenv.FreePort(t), testenv.FreePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + strconv.Itoa(port),
		"managementListenAddress":        "127.0.0.1:" + strconv.Itoa(mgmtPort),
		"certificate":                    certPath,
		"privateKey":                     keyPath,
		"httpPort":                       testenv.FreePort(t),
		"tlsPort":                        testenv.FreePort(t),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles":                       map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 86400}},
	}}
	b, _ := json.Marshal(conf)
	confPath := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logWriter{}
	cmd := exec.Command(bin, "-config", confPath)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_VA_NOSLEEP=1")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pebble: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("pebble log:\n%s", logs.buf.String())
		}
	})
	p := &pebble{DirURL: fmt.Sprintf("https://127.0.0.1:%d/dir", port), CAFile: caFile,
		mgmt: fmt.Sprintf("https://127.0.0.1:%d", mgmtPort), ca: ca}
	hc := p.client()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := hc.Get(p.DirURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-exited:
			t.Fatalf("pebble exited:\n%s", logs.buf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble does not answer at %s:\n%s", p.DirURL, logs.buf.String())
		}
	}
}

// client trusts Pebble's own HTTPS listener.
func (p *pebble) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.ca.pool()}}}
}

// roots returns the roots Pebble issues certificates under.
func (p *pebble) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.client().Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble roots: %s", b)
	}
	return pool
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// TestACMEFromPebble: with --acme-domain the node obtains its certificate
// from a real ACME server (Pebble) at the first handshake for that name,
// keeps it in --acme-cache, and serves HTTPS with HSTS under it.
func TestACMEFromPebble(t *testing.T) {
	p := startPebble(t)
	cache := t.TempDir()
	s := startServer(t, "--acme-domain", "chat.switchboard.test", "--acme-dir-url", p.DirURL,
		"--acme-ca-file", p.CAFile, "--acme-cache", cache)
	addr := strings.TrimPrefix(s.URL, "https://")
	addr = addr[strings.LastIndexByte(addr, ':'):]
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.roots(t), ServerName: "chat.switchboard.test"}}}
	resp, err := hc.Get("https://127.0.0.1" + addr + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with an ACME certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("status %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	leaf := resp.TLS.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "chat.switchboard.test" {
		t.Fatalf("certificate names %v; want chat.switchboard.test", leaf.DNSNames)
	}
	if _, err := os.Stat(filepath.Join(cache, "chat.switchboard.test")); err != nil {
		t.Fatalf("certificate not cached: %v", err)
	}
	// A name not configured gets no certificate.
	other := &tls.Config{RootCAs: p.roots(t), ServerName: "other.switchboard.test"}
	if c, err := tls.Dial("tcp", "127.0.0.1"+addr, other); err == nil {
		c.Close()
		t.Fatal("handshake for a name not in --acme-domain succeeded")
	}
}
