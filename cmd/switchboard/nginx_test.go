package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
