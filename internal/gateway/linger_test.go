package gateway_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/gateway"
)

// TestLingeringClose: a connection the server closes while its client is
// still sending ends with the close frame and a FIN, not a reset, once the
// client stops; and a client that never stops cannot hold the server's
// socket open past either of the linger's bounds. Under both engines, on
// a close the server decides (the frame budget, 4029) with the client's
// frames unread.
func TestLingeringClose(t *testing.T) {
	const (
		never   = time.Hour // a bound that no case here reaches
		noBytes = 1 << 40
	)
	for _, engine := range engines {
		for _, tc := range []struct {
			name  string
			time  time.Duration
			bytes int
			// forever: the client goes on sending after the close frame
			// until its writes fail; else it stops once it has sent the
			// frames that cross its budget.
			forever bool
		}{
			{"client stops", never, 0, false},
			{"client sends forever, time bound", 200 * time.Millisecond, noBytes, true},
			{"client sends forever, byte bound", never, 64 << 10, true},
		} {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				n, url := serveGateway(t, gateway.Config{Engine: engine, FrameRate: 1, FrameBurst: 1, LingerTime: tc.time, LingerBytes: tc.bytes})
				w, _ := authed(t, n, url)
				// The burst, the 200 refusals in a row the gateway takes,
				// the one that closes, and more behind it, in one write.
				var batch [][]byte
				for i := range 300 {
					batch = append(batch, text(fmt.Sprintf(`{"type":"ping","id":"%d"}`, i)))
				}
				w.send(t, batch...)
				wrote := make(chan error, 1)
				stop := make(chan struct{})
				defer close(stop)
				if tc.forever {
					go func() { wrote <- sendUntilRefused(w, stop) }()
				}
				if got := w.closeCode(t); got != 4029 {
					t.Fatalf("close code %d; want 4029", got)
				}
				if !tc.forever {
					// The server shut its side after the close frame: the
					// client reads the end of the stream, not a reset.
					if _, _, err := w.read(); !errors.Is(err, io.EOF) {
						t.Fatalf("after the close frame: %v; want the end of the stream", err)
					}
					// Unregistered while the socket lingers (for as long as
					// this client keeps it open): a node that drains waits
					// on that count, not on the linger.
					waitFor(t, "connection unregistered", func() bool { return n.gw.Count() == 0 })
					w.send(t, frame(0x88, []byte{0x03, 0xE8}))
					return
				}
				// Only a bound of the linger can end the client's writes:
				// the server's socket closes with its input unread.
				waitCut(t, wrote, "it closed the connection")
				waitFor(t, "connection unregistered", func() bool { return n.gw.Count() == 0 })
			})
		}
	}
}

// sendUntilRefused sends ping frames of 1 KiB until a write fails, and
// returns that error; nil if stop closed or 1 GiB went first.
func sendUntilRefused(w *wsClient, stop <-chan struct{}) error {
	ping := text(`{"type":"ping","id":"` + string(bytes.Repeat([]byte("f"), 1000)) + `"}`)
	var batch []byte
	for range 16 {
		batch = append(batch, ping...)
	}
	for sent := 0; sent < 1<<30; sent += len(batch) {
		select {
		case <-stop:
			return nil
		default:
		}
		if _, err := w.nc.Write(batch); err != nil {
			return err
		}
	}
	return nil
}

// TestBadHandshakeCloses: a handshake gws refuses is answered, and the
// socket then closes within the linger's bounds like any other, even under
// a client that never stops sending (gws's Close only starts the linger;
// the gateway must end it).
func TestBadHandshakeCloses(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			_, url := serveGateway(t, gateway.Config{Engine: engine, LingerTime: 200 * time.Millisecond})
			nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { nc.Close() })
			// No Sec-WebSocket-Key.
			if _, err := io.WriteString(nc, "GET /v1/ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("handshake without a key: %s; want 400", resp.Status)
			}
			stop := make(chan struct{})
			defer close(stop)
			wrote := make(chan error, 1)
			go func() { wrote <- sendUntilRefused(&wsClient{nc: nc}, stop) }()
			waitCut(t, wrote, "it refused the handshake")
		})
	}
}

// waitCut waits for a flooding client's writes to fail: the server's
// socket closed with the flood unread, after what.
func waitCut(t *testing.T, wrote <-chan error, what string) {
	t.Helper()
	select {
	case err := <-wrote:
		if err == nil {
			t.Fatal("the server was still reading after the client's whole flood")
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the server's socket still open 10s after %s", what)
	}
}
