package blobtest

import (
	"bytes"
	"context"
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
)

// s3Server is the S3-compatible server the S3 backend is tested against:
// versitygw, an S3 gateway over a plain directory, built from the Go module
// proxy and cached in GOPATH/bin.
const s3Server = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// The root credentials of the server StartS3 runs.
const (
	S3Access = "switchboard-test"
	S3Secret = "switchboard-test-secret"
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

// StartS3 runs versitygw on a free loopback port with its own directories
// and returns its endpoint URL. The server stops when the test ends.
func StartS3(tb testing.TB) string {
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
	cmd := exec.Command(bin, "--access", S3Access, "--secret", S3Secret, "--port", addr,
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

var buckets atomic.Int64

// OpenS3 returns an S3 store on a new bucket of the server at endpoint
// (from StartS3).
func OpenS3(tb testing.TB, endpoint string) *blob.S3 {
	tb.Helper()
	s, err := blob.NewS3(context.Background(), blob.S3Config{
		Endpoint:     endpoint,
		Bucket:       fmt.Sprintf("switchboard-test-%d", buckets.Add(1)),
		AccessKey:    S3Access,
		SecretKey:    S3Secret,
		Prefix:       "media/",
		CreateBucket: true,
		TempDir:      tb.TempDir(),
	})
	if err != nil {
		tb.Fatalf("NewS3: %v", err)
	}
	return s
}
