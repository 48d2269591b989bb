package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/gateway"
	"github.com/switchboard-chat/switchboard/wire"
)

// engines are the read paths every test here runs against: both must
// behave alike.
var engines = []string{gateway.EnginePoll, gateway.EngineGWS}

// wsClient is a hand-made WebSocket client over a real TCP connection, so
// a test can send what a real client library never would (unmasked or
// half frames, reserved bits) and see every frame the server writes.
type wsClient struct {
	nc net.Conn
	br *bufio.Reader
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_, err = io.WriteString(nc, "GET /v1/ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	w := &wsClient{nc: nc, br: bufio.NewReader(nc)}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return w
}

// frame is a masked client frame; first is the FIN, RSV and opcode byte.
func frame(first byte, payload []byte) []byte {
	b := []byte{first}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := []byte{1, 2, 3, 4}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func text(s string) []byte { return frame(0x81, []byte(s)) }

func (w *wsClient) send(t *testing.T, b ...[]byte) {
	t.Helper()
	if _, err := w.nc.Write(bytes.Join(b, nil)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next frame the server wrote; op 0 and an error when the
// connection ended instead.
func (w *wsClient) read() (op byte, payload []byte, err error) {
	_ = w.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		return 0, nil, errors.New("server frame is masked")
	}
	n := int(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(w.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(w.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(w.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0F, payload, nil
}

// next returns the next JSON frame, skipping pings.
func (w *wsClient) next(t *testing.T) wire.ServerFrame {
	t.Helper()
	for {
		op, p, err := w.read()
		if err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		switch op {
		case 0x9:
			continue
		case 0x1:
			var f wire.ServerFrame
			if err := json.Unmarshal(p, &f); err != nil {
				t.Fatal(err)
			}
			return f
		default:
			t.Fatalf("got opcode %d (%q); want a text frame", op, p)
		}
	}
}

// closeCode reads until the server's close frame and returns its code (0
// for none); -1 if the connection ended without one.
func (w *wsClient) closeCode(t *testing.T) int {
	t.Helper()
	for {
		op, p, err := w.read()
		if err != nil {
			return -1
		}
		if op == 0x8 {
			if len(p) < 2 {
				return 0
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

// authed dials n's gateway and authenticates as alice.
func authed(t *testing.T, n *node, url string) (*wsClient, wire.ServerFrame) {
	t.Helper()
	w := dialWS(t, url)
	w.send(t, text(`{"type":"auth","id":"a","token":"`+n.token+`"}`))
	f := w.next(t)
	if f.Type != wire.TypeReady {
		t.Fatalf("got %+v; want ready", f)
	}
	return w, f
}

func serveGateway(t *testing.T, cfg gateway.Config) (*node, string) {
	t.Helper()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Hour
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = time.Hour
	}
	n := newNodeWith(t, cfg)
	srv := httptest.NewServer(n.gw)
	t.Cleanup(srv.Close)
	return n, srv.URL
}

// TestEngineFrames: what a client sends is read the same by both engines,
// however it is cut into TCP segments and WebSocket fragments.
func TestEngineFrames(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			n, url := serveGateway(t, gateway.Config{Engine: engine})
			t.Run("auth a byte at a time", func(t *testing.T) {
				w := dialWS(t, url)
				for _, b := range text(`{"type":"auth","id":"a","token":"` + n.token + `"}`) {
					w.send(t, []byte{b})
				}
				if f := w.next(t); f.Type != wire.TypeReady {
					t.Fatalf("got %+v; want ready", f)
				}
				if engine == gateway.EnginePoll && !gateway.Polled(n.gw) {
					t.Fatal("the connection is not read by the poll engine")
				}
			})
			t.Run("fragments and a ping between", func(t *testing.T) {
				w, _ := authed(t, n, url)
				w.send(t, frame(0x01, []byte(`{"type":"pi`)), frame(0x89, []byte("hb")), frame(0x00, []byte(`ng","id`)), frame(0x80, []byte(`":"f"}`)))
				op, p, err := w.read()
				if err != nil || op != 0xA || string(p) != "hb" {
					t.Fatalf("got op %d %q, %v; want pong hb", op, p, err)
				}
				if f := w.next(t); f.Type != wire.TypePong || f.ID != "f" {
					t.Fatalf("got %+v; want pong f", f)
				}
			})
			t.Run("many frames in one write keep their order", func(t *testing.T) {
				w, _ := authed(t, n, url)
				var batch [][]byte
				for i := 0; i < 150; i++ {
					batch = append(batch, text(fmt.Sprintf(`{"type":"ping","id":"%d"}`, i)))
				}
				w.send(t, batch...)
				for i := 0; i < 150; i++ {
					if f := w.next(t); f.Type != wire.TypePong || f.ID != fmt.Sprint(i) {
						t.Fatalf("frame %d: got %+v", i, f)
					}
				}
			})
			t.Run("a large frame over several reads", func(t *testing.T) {
				w, _ := authed(t, n, url)
				big := `{"type":"ping","id":"` + strings.Repeat("z", 60<<10) + `"}`
				b := text(big)
				w.send(t, b[:5000])
				time.Sleep(10 * time.Millisecond)
				w.send(t, b[5000:])
				if f := w.next(t); f.Type != wire.TypePong || len(f.ID) != 60<<10 {
					t.Fatalf("got %s with a %d-byte id", f.Type, len(f.ID))
				}
			})
			t.Run("frame over the frame limit is refused, connection stays", func(t *testing.T) {
				w, _ := authed(t, n, url)
				w.send(t, text(`{"type":"ping","id":"`+strings.Repeat("z", 70<<10)+`"}`), text(`{"type":"ping","id":"after"}`))
				if f := w.next(t); f.Type != wire.TypeError || f.Code != "too_large" {
					t.Fatalf("got %+v; want too_large", f)
				}
				if f := w.next(t); f.Type != wire.TypePong || f.ID != "after" {
					t.Fatalf("got %+v; want pong after", f)
				}
			})
		})
	}
}

// TestEngineCloses: both engines close on the same things with the same
// codes.
func TestEngineCloses(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			n, url := serveGateway(t, gateway.Config{Engine: engine})
			code := func(c uint16, reason string) []byte {
				return append(binary.BigEndian.AppendUint16(nil, c), reason...)
			}
			for _, tc := range []struct {
				name string
				send []byte
				want int
			}{
				{"over the read limit", frame(0x81, bytes.Repeat([]byte("x"), 16*(64<<10)+1)), 1009},
				{"fragments over the read limit", append(frame(0x01, bytes.Repeat([]byte("x"), 600<<10)), frame(0x80, bytes.Repeat([]byte("x"), 600<<10))...), 1009},
				{"unmasked frame", []byte{0x81, 0x01, 'x'}, 1002},
				{"reserved bit", frame(0xC1, []byte("x")), 1002},
				{"unknown opcode", frame(0x83, []byte("x")), 1002},
				{"continuation without a start", frame(0x80, []byte("x")), 1002},
				{"long ping", frame(0x89, bytes.Repeat([]byte("x"), 126)), 1002},
				{"client close 1000", frame(0x88, code(1000, "bye")), 1000},
				{"client close 4000", frame(0x88, code(4000, "")), 4000},
				{"client close 1005", frame(0x88, code(1005, "")), 1002},
				{"client close, no code", frame(0x88, nil), 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					w, _ := authed(t, n, url)
					// A server may close as soon as a frame's header is over
					// the limit, with the rest of it unread: the client's
					// write can then meet a reset, but the close frame the
					// server wrote first is still there to read.
					if _, err := w.nc.Write(tc.send); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
						t.Fatal(err)
					}
					if got := w.closeCode(t); got != tc.want {
						t.Fatalf("close code %d; want %d", got, tc.want)
					}
					// Nothing after the close frame: the server closed.
					if _, _, err := w.read(); err == nil {
						t.Fatal("the connection stayed open after the close frame")
					}
				})
			}
			t.Run("client goes away", func(t *testing.T) {
				// The cases above end their connections on the server's
				// side; wait until they are all gone.
				waitFor(t, "earlier connections unregistered", func() bool { return n.gw.Count() == 0 })
				w, _ := authed(t, n, url)
				w.nc.Close()
				waitFor(t, "connection unregistered", func() bool { return n.gw.Count() == 0 })
			})
		})
	}
}

// TestEngineDeadlines: a client that does not authenticate in time, or
// stops answering pings, is closed by both engines.
func TestEngineDeadlines(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			n, url := serveGateway(t, gateway.Config{Engine: engine, AuthTimeout: 200 * time.Millisecond, Heartbeat: 100 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			go n.gw.Run(ctx)
			t.Run("no auth", func(t *testing.T) {
				w := dialWS(t, url)
				if got := w.closeCode(t); got != 1000 {
					t.Fatalf("close code %d; want 1000", got)
				}
			})
			t.Run("pongs keep it open", func(t *testing.T) {
				w, _ := authed(t, n, url)
				pings := 0
				for pings < 8 {
					op, p, err := w.read()
					if err != nil {
						t.Fatalf("after %d pings: %v", pings, err)
					}
					if op == 0x9 {
						pings++
						w.send(t, frame(0x8A, p))
					}
				}
			})
			t.Run("no pongs close it", func(t *testing.T) {
				w, _ := authed(t, n, url)
				if got := w.closeCode(t); got != 1000 {
					t.Fatalf("close code %d; want 1000", got)
				}
			})
		})
	}
}

// TestCoalescedWrites: frames queued together are written together, each
// whole and in order, whatever their length, and whether their writer
// started at once or after the coalescer's wait.
func TestCoalescedWrites(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			n, url := serveGateway(t, gateway.Config{Engine: engine, QueueSize: 4096, Coalesce: 20 * time.Millisecond})
			w, ready := authed(t, n, url)
			sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
			var want [][]byte
			for i := 0; i < 2000; i++ {
				p := []byte(fmt.Sprintf("%06d:", i))
				p = append(p, bytes.Repeat([]byte{'a' + byte(i%26)}, sizes[i%len(sizes)])...)
				want = append(want, p)
				push := gateway.Push
				if i%3 != 0 {
					push = gateway.PushLater
				}
				if !push(n.gw, ready.User.ID, p) {
					t.Fatalf("push %d refused", i)
				}
			}
			for i, p := range want {
				op, got, err := w.read()
				if err != nil || op != 0x1 || !bytes.Equal(got, p) {
					t.Fatalf("frame %d: op %d, %d bytes (%.7q), %v; want %d bytes (%.7q)", i, op, len(got), got, err, len(p), p)
				}
			}
		})
	}
}

// TestSlowConsumerIsCut: a client that stops reading is closed once its
// queue is full, and is never waited for.
func TestSlowConsumerIsCut(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			var slow atomic.Int64
			n, url := serveGateway(t, gateway.Config{Engine: engine, QueueSize: 16, WriteWait: 500 * time.Millisecond,
				Metrics: &gateway.Metrics{SlowClosed: func() { slow.Add(1) }}})
			before := n.gw.Count()
			_, ready := authed(t, n, url) // and never read again
			big := bytes.Repeat([]byte("s"), 64<<10)
			pushed := 0
			// Every other frame as a large fan-out queues it: the coalescer
			// does not keep a full queue from closing the connection.
			for ; pushed < 10000; pushed++ {
				push := gateway.Push
				if pushed%2 == 1 {
					push = gateway.PushLater
				}
				if !push(n.gw, ready.User.ID, big) {
					break
				}
			}
			if pushed == 10000 {
				t.Fatal("a client that reads nothing took 10,000 frames of 64 KiB")
			}
			if slow.Load() != 1 {
				t.Fatalf("slow closes %d; want 1", slow.Load())
			}
			waitFor(t, "slow connection closed", func() bool { return n.gw.Count() == before })
		})
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within 10s", what)
}

// TestCoalescerStartsWriters: frames queued only as a large fan-out queues
// them are written without anything else waking the writer.
func TestCoalescerStartsWriters(t *testing.T) {
	n, url := serveGateway(t, gateway.Config{Coalesce: 5 * time.Millisecond})
	w, ready := authed(t, n, url)
	for round := 0; round < 5; round++ {
		for i := 0; i < 10; i++ {
			if !gateway.PushLater(n.gw, ready.User.ID, []byte(fmt.Sprintf("%d-%d", round, i))) {
				t.Fatal("push refused")
			}
		}
		for i := 0; i < 10; i++ {
			op, p, err := w.read()
			if err != nil || op != 0x1 || string(p) != fmt.Sprintf("%d-%d", round, i) {
				t.Fatalf("round %d frame %d: op %d %q, %v", round, i, op, p, err)
			}
		}
	}
}
