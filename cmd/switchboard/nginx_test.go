package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
)

// TestNginxLogsNoMediaSignatures: a signed media URL works without a
// token, so deploy/nginx.conf must not write its query (the signature) to
// the access log. The test fetches one through the real nginx and reads
// the log.
func TestNginxLogsNoMediaSignatures(t *testing.T) {
	s := startServer(t)
	base, dir := startProcNginxConf(t, "nginx.conf", s.URL)
	kim := user(t, s, "kim")
	up, err := kim.UploadMedia(ctxT(t), "text/plain", bytes.NewReader([]byte("secret plans\n")))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	sig := u.Query().Get("sig")
	if sig == "" {
		t.Fatalf("upload URL %q is not signed", up.URL)
	}
	resp, err := http.Get(base + u.RequestURI()) // no token: the signature is the key
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "secret plans\n" {
		t.Fatalf("signed fetch through nginx: %d %q", resp.StatusCode, body)
	}
	// Another request, so the log surely holds the media line before it.
	if resp, err := http.Get(base + "/healthz?marker=1"); err == nil {
		resp.Body.Close()
	}
	logPath := filepath.Join(dir, "logs", "access.log")
	var log []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		log, _ = os.ReadFile(logPath)
		if bytes.Contains(log, []byte("marker=1")) {
			break
		}
	}
	if !bytes.Contains(log, []byte("/v1/media/"+up.ID)) {
		t.Fatalf("access log has no line for the media fetch:\n%s", log)
	}
	if bytes.Contains(log, []byte(sig)) || strings.Contains(string(log), "sig=") {
		t.Fatalf("access log holds the media signature:\n%s", log)
	}
}

// TestNginxTLSConfig: deploy/nginx-tls.conf passes `nginx -t` and, run
// with a test certificate, proxies HTTPS (with HSTS) and wss to a node,
// redirects plain HTTP, and keeps media signatures out of its log.
func TestNginxTLSConfig(t *testing.T) {
	s := startServer(t)
	_, _, check := renderProcNginx(t, "nginx-tls.conf", s.URL)
	check.Args = append(check.Args, "-t")
	if err := check.Run(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, check.Stdout.(*logWriter).buf.String())
	}

	base, dir := startProcNginxConf(t, "nginx-tls.conf", s.URL)
	pemCA, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCA)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("GET /healthz through nginx TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	lee := client.New(base, client.WithHTTPClient(hc))
	if _, err := lee.Signup(ctxT(t), "lee", "password-lee", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := lee.Login(ctxT(t), "lee", "password-lee"); err != nil {
		t.Fatal(err)
	}
	conn := dial(t, lee, "web") // wss through nginx
	if err := conn.Ping(ctxT(t)); err != nil {
		t.Fatalf("wss through nginx: %v", err)
	}
	up, err := lee.UploadMedia(ctxT(t), "text/plain", bytes.NewReader([]byte("tls plans\n")))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	sig := u.Query().Get("sig")
	resp, err = hc.Get(base + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || sig == "" {
		t.Fatalf("signed fetch: %d, sig %q", resp.StatusCode, sig)
	}
	if resp, err := hc.Get(base + "/healthz?marker=1"); err == nil {
		resp.Body.Close()
	}
	var log []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if log, _ = os.ReadFile(filepath.Join(dir, "logs", "access.log")); bytes.Contains(log, []byte("marker=1")) {
			break
		}
	}
	if !bytes.Contains(log, []byte("/v1/media/"+up.ID)) || bytes.Contains(log, []byte(sig)) {
		t.Fatalf("access log should name the media fetch without its signature %q:\n%s", sig, log)
	}
}
