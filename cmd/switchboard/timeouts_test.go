package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// rawHTTP opens a plain TCP connection to s.
func rawHTTP(t *testing.T, s *testServer) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitEOF reads c until the server closes it and returns what came; a
// connection still open after 15 s fails the test.
func waitEOF(t *testing.T, c net.Conn, r io.Reader) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var got bytes.Buffer
	_, err := io.Copy(&got, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server kept the connection open")
	}
	return got.String()
}

func TestStalledRequestBodyIsClosed(t *testing.T) {
	s := startServer(t, "--read-timeout", "1s")
	token := user(t, s, "stan").Token()
	for _, path := range []string{"/v1/users", "/v1/media"} {
		t.Run(path, func(t *testing.T) { stallBody(t, s, path, token) })
	}
}

func stallBody(t *testing.T, s *testServer, path, token string) {
	c := rawHTTP(t, s)
	// Headers promise 100 bytes; one comes, then nothing.
	if _, err := io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+token+"\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	got := waitEOF(t, c, c)
	// Whatever the answer says, it names no socket address.
	if strings.Contains(got, "127.0.0.1") {
		t.Fatalf("answer names a socket address:\n%s", got)
	}
}

func TestIdleKeepAliveIsClosed(t *testing.T) {
	s := startServer(t, "--idle-timeout", "1s")
	c := rawHTTP(t, s)
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("status %d, close %v; want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	waitEOF(t, c, br)
}

// TestLongTransfersOutliveTimeouts: a WebSocket and a media upload that
// last longer than the read and write timeouts still work, as long as
// they are not stalled.
func TestLongTransfersOutliveTimeouts(t *testing.T) {
	// A stall of --read-timeout (3 s) ends a media transfer; each of these
	// lasts longer than that and than --write-timeout (1 s), with pauses
	// far shorter, so a loaded machine does not turn a pause into a stall.
	s := startServer(t, "--read-timeout", "3s", "--write-timeout", "1s")
	ann := user(t, s, "ann")
	conn := dial(t, ann, "web")

	// An upload whose body trickles in over about 4.5 s.
	pr, pw := io.Pipe()
	go func() {
		body := []byte(strings.Repeat("a line of plain text\n", 300))
		for i := 0; i < 15; i++ {
			chunk := body[i*len(body)/15 : (i+1)*len(body)/15]
			if _, err := pw.Write(chunk); err != nil {
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
		pw.Close()
	}()
	up, err := ann.UploadMedia(ctxT(t), "text/plain", pr)
	if err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	resp, err := ann.OpenMedia(ctxT(t), up.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.HasPrefix(got, []byte("a line of plain text")) {
		t.Fatalf("download = %.40q", got)
	}

	// A download read slowly, over several write timeouts, arrives whole.
	big := bytes.Repeat([]byte("0123456789abcdef\n"), 8<<20/17)
	bigUp, err := ann.UploadMedia(ctxT(t), "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = ann.OpenMedia(ctxT(t), bigUp.ID)
	if err != nil {
		t.Fatal(err)
	}
	var slow bytes.Buffer
	chunk := make([]byte, 512<<10)
	for {
		n, err := io.ReadFull(resp.Body, chunk)
		slow.Write(chunk[:n])
		if err != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	resp.Body.Close()
	if !bytes.Equal(slow.Bytes(), big) {
		t.Fatalf("slow download: %d of %d bytes", slow.Len(), len(big))
	}

	// The WebSocket opened before the upload is still served.
	if err := conn.Ping(ctxT(t)); err != nil {
		t.Fatalf("WebSocket after the read timeout: %v", err)
	}
}
