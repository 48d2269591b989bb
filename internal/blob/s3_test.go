package blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/blob/blobtest"
	"github.com/switchboard-chat/switchboard/internal/chat"
)

// s3Server is the S3-compatible server the S3 backend is tested against:
// versitygw, an S3 gateway over a plain directory, built from the Go module
// proxy and cached in GOPATH/bin.
const s3Server = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

const (
	s3Access = "switchboard-test"
	s3Secret = "switchboard-test-secret"
)

// unavailable fails the test in CI and skips it elsewhere.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// versitygwBinary finds the server binary, installing it with `go install`
// when it is missing (a few minutes the first time).
func versitygwBinary(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		unavailable(tb, "versitygw: go env GOPATH: %v", err)
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		gobin = filepath.Join(strings.TrimSpace(strings.Split(string(out), string(os.PathListSeparator))[0]), "bin")
	}
	p := filepath.Join(gobin, "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	tb.Logf("installing %s into %s (once)", s3Server, gobin)
	cmd := exec.Command("go", "install", s3Server)
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable(tb, "no S3 server: go install %s: %v\n%s", s3Server, err, out)
	}
	return p
}

// startS3 runs versitygw on a free loopback port with its own directories
// and returns its endpoint URL. The server stops when the test ends.
func startS3(tb testing.TB) string {
	tb.Helper()
	bin := versitygwBinary(tb)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := tb.TempDir()
	data, side := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	for _, d := range []string{data, side} {
		if err := os.Mkdir(d, 0o750); err != nil {
			tb.Fatal(err)
		}
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--access", s3Access, "--secret", s3Secret, "--port", addr,
		"posix", "--sidecar", side, data)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		unavailable(tb, "start versitygw: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	// Wait until it accepts connections (or dies).
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			tb.Fatalf("versitygw exited: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("versitygw did not listen on %s\n%s", addr, logs.String())
		}
	}
	return "http://" + addr
}

func TestS3(t *testing.T) {
	endpoint := startS3(t)
	var n atomic.Int64
	open := func(tb testing.TB) blob.Store {
		tb.Helper()
		s, err := blob.NewS3(context.Background(), blob.S3Config{
			Endpoint:     endpoint,
			Bucket:       fmt.Sprintf("switchboard-test-%d", n.Add(1)),
			AccessKey:    s3Access,
			SecretKey:    s3Secret,
			Prefix:       "media/",
			CreateBucket: true,
			TempDir:      tb.TempDir(),
		})
		if err != nil {
			tb.Fatalf("NewS3: %v", err)
		}
		return s
	}
	blobtest.Run(t, open)
}

func TestS3Errors(t *testing.T) {
	endpoint := startS3(t)
	ctx := context.Background()
	cfg := blob.S3Config{Endpoint: endpoint, Bucket: "missing-bucket", AccessKey: s3Access, SecretKey: s3Secret}
	if _, err := blob.NewS3(ctx, cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("NewS3(missing bucket) = %v, want a does-not-exist error", err)
	}
	cfg.SecretKey = "wrong"
	cfg.CreateBucket = true
	if _, err := blob.NewS3(ctx, cfg); err == nil {
		t.Errorf("NewS3 with a wrong secret succeeded")
	}

	// A server that is not there is unavailable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	_, err = blob.NewS3(ctx, blob.S3Config{Endpoint: dead, Bucket: "switchboard-b", AccessKey: s3Access, SecretKey: s3Secret})
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.Code != chat.EUnavailable {
		t.Errorf("NewS3(dead server) = %v, want code %s", err, chat.EUnavailable)
	}
}
