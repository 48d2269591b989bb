package gateway

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/lxzan/gws"
)

// clientFrame is a frame as a client sends it: masked with key, unless
// unmasked is set.
func clientFrame(first byte, payload []byte, unmasked bool) []byte {
	b := []byte{first}
	mask := byte(0x80)
	if unmasked {
		mask = 0
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, mask|byte(n))
	case n <= 0xFFFF:
		b = append(b, mask|126, byte(n>>8), byte(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func TestFrameReader(t *testing.T) {
	const text, binary, cont, closeOp, ping, pong = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
	const fin = 0x80
	big := bytes.Repeat([]byte("x"), 70000)
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	for _, tc := range []struct {
		name  string
		in    []byte
		want  []readEvent
		err   *closeErr
		max   int
		trail int // bytes left unread (an unfinished frame)
	}{
		{name: "text", in: clientFrame(fin|text, []byte(`{"type":"ping"}`), false), want: []readEvent{{gws.OpcodeText, []byte(`{"type":"ping"}`)}}},
		{name: "binary", in: clientFrame(fin|binary, []byte{0, 1, 2}, false), want: []readEvent{{gws.OpcodeBinary, []byte{0, 1, 2}}}},
		{name: "empty", in: clientFrame(fin|text, nil, false), want: []readEvent{{gws.OpcodeText, []byte{}}}},
		{name: "16-bit length", in: clientFrame(fin|text, big[:300], false), want: []readEvent{{gws.OpcodeText, big[:300]}}},
		{name: "64-bit length", in: clientFrame(fin|text, big, false), want: []readEvent{{gws.OpcodeText, big}}},
		{name: "several in one read", in: cat(clientFrame(fin|text, []byte("a"), false), clientFrame(fin|ping, []byte("p"), false), clientFrame(fin|text, []byte("b"), false)),
			want: []readEvent{{gws.OpcodeText, []byte("a")}, {gws.OpcodePing, []byte("p")}, {gws.OpcodeText, []byte("b")}}},
		{name: "fragments with a ping between", in: cat(clientFrame(text, []byte("he"), false), clientFrame(fin|ping, nil, false), clientFrame(cont, []byte("ll"), false), clientFrame(fin|cont, []byte("o"), false)),
			want: []readEvent{{gws.OpcodePing, []byte{}}, {gws.OpcodeText, []byte("hello")}}},
		{name: "pong and close", in: cat(clientFrame(fin|pong, []byte("x"), false), clientFrame(fin|closeOp, []byte{0x03, 0xE8}, false)),
			want: []readEvent{{gws.OpcodePong, []byte("x")}, {gws.OpcodeCloseConnection, []byte{0x03, 0xE8}}}},
		{name: "half a header", in: clientFrame(fin|text, big[:300], false)[:3], trail: 3},
		{name: "half a payload", in: cat(clientFrame(fin|text, []byte("a"), false), clientFrame(fin|text, big[:300], false)[:100]),
			want: []readEvent{{gws.OpcodeText, []byte("a")}}, trail: 100},
		{name: "at the limit", max: 300, in: clientFrame(fin|text, big[:300], false), want: []readEvent{{gws.OpcodeText, big[:300]}}},
		{name: "over the limit", max: 299, in: clientFrame(fin|text, big[:300], false)[:4], err: errTooLarge},
		{name: "64-bit length over the limit", max: 1 << 20, in: append([]byte{fin | text, 0x80 | 127}, 0xFF, 0, 0, 0, 0, 0, 0, 0), err: errTooLarge},
		{name: "fragments over the limit", max: 300, in: cat(clientFrame(text, big[:200], false), clientFrame(fin|cont, big[:101], false)), err: errTooLarge},
		{name: "unmasked", in: clientFrame(fin|text, []byte("a"), true), err: errProtocol},
		{name: "reserved bit", in: clientFrame(fin|0x40|text, []byte("a"), false), err: errProtocol},
		{name: "unknown opcode", in: clientFrame(fin|0x3, []byte("a"), false), err: errProtocol},
		{name: "unknown control opcode", in: clientFrame(fin|0xB, nil, false), err: errProtocol},
		{name: "fragmented control frame", in: clientFrame(ping, nil, false), err: errProtocol},
		{name: "long control frame", in: clientFrame(fin|ping, big[:126], false), err: errProtocol},
		{name: "continuation without a start", in: clientFrame(fin|cont, []byte("a"), false), err: errProtocol},
		{name: "new message inside a fragmented one", in: cat(clientFrame(text, []byte("a"), false), clientFrame(fin|text, []byte("b"), false)), err: errProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxLen := tc.max
			if maxLen == 0 {
				maxLen = 1 << 20
			}
			r := frameReader{max: maxLen}
			b := append([]byte(nil), tc.in...)
			var got []readEvent
			used := 0
			for {
				n, _, ev, err := r.next(b[used:])
				if err != nil {
					if tc.err == nil || err != tc.err {
						t.Fatalf("error %v; want %v", err, tc.err)
					}
					return
				}
				if n == 0 {
					break
				}
				used += n
				if ev.op != 0 {
					got = append(got, readEvent{ev.op, append([]byte{}, ev.data...)})
				}
			}
			if tc.err != nil {
				t.Fatalf("no error; want %v", tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d messages; want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i].op != tc.want[i].op || !bytes.Equal(got[i].data, tc.want[i].data) {
					t.Fatalf("message %d: op %d, %d bytes; want op %d, %d bytes", i, got[i].op, len(got[i].data), tc.want[i].op, len(tc.want[i].data))
				}
			}
			if left := len(b) - used; left != tc.trail {
				t.Fatalf("%d bytes left; want %d", left, tc.trail)
			}
		})
	}
}

// TestFrameReaderByteByByte: a frame that arrives a byte at a time is read
// once whole, and need says how long it is once its header is in.
func TestFrameReaderByteByByte(t *testing.T) {
	payload := bytes.Repeat([]byte("y"), 1000)
	in := clientFrame(0x81, payload, false)
	r := frameReader{max: 1 << 20}
	for k := 1; k < len(in); k++ {
		b := append([]byte(nil), in[:k]...)
		n, need, _, err := r.next(b)
		if err != nil || n != 0 {
			t.Fatalf("after %d bytes: n %d, err %v; want nothing yet", k, n, err)
		}
		if k >= 8 && need != len(in) {
			t.Fatalf("after %d bytes need %d; want %d", k, need, len(in))
		}
	}
	n, _, ev, err := r.next(append([]byte(nil), in...))
	if err != nil || n != len(in) || !bytes.Equal(ev.data, payload) {
		t.Fatalf("whole frame: n %d, err %v, %d bytes", n, err, len(ev.data))
	}
}

func TestCloseReply(t *testing.T) {
	code := func(c uint16, reason string) []byte { return append(binary.BigEndian.AppendUint16(nil, c), reason...) }
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"empty", nil, nil},
		{"one byte", []byte{3}, code(1002, "")},
		{"normal", code(1000, "bye"), code(1000, "")},
		{"going away", code(1001, ""), code(1000, "")},
		{"application code", code(4000, "x"), code(4000, "")},
		{"registered code", code(3001, ""), code(3001, "")},
		{"reserved 1005", code(1005, ""), code(1002, "")},
		{"reserved 1006", code(1006, ""), code(1002, "")},
		{"unassigned 1016", code(1016, ""), code(1002, "")},
		{"below 1000", code(999, ""), code(1002, "")},
		{"5000", code(5000, ""), code(1002, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := closeReply(tc.in); !bytes.Equal(got, tc.want) {
				t.Fatalf("closeReply(%v) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestAppendFrameLengths: the writer frames each payload length in the
// form RFC 6455 asks (7-bit, 16-bit, 64-bit), and several frames written
// together stay apart.
func TestAppendFrameLengths(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 70000}
	var b []byte
	for i, n := range sizes {
		b = appendFrame(b, gws.OpcodeText, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	for i, n := range sizes {
		if b[0] != 0x81 {
			t.Fatalf("frame %d: first byte %#x; want 0x81", i, b[0])
		}
		head, length := 2, int(b[1])
		switch {
		case b[1]&0x80 != 0:
			t.Fatalf("frame %d is masked", i)
		case length == 126:
			head, length = 4, int(binary.BigEndian.Uint16(b[2:]))
			if n < 126 {
				t.Fatalf("frame %d: 16-bit length for %d bytes", i, n)
			}
		case length == 127:
			head, length = 10, int(binary.BigEndian.Uint64(b[2:]))
			if n <= 0xFFFF {
				t.Fatalf("frame %d: 64-bit length for %d bytes", i, n)
			}
		}
		if length != n || !bytes.Equal(b[head:head+n], bytes.Repeat([]byte{byte('a' + i)}, n)) {
			t.Fatalf("frame %d: length %d; want %d", i, length, n)
		}
		b = b[head+n:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after the last frame", len(b))
	}
}

// FuzzFrameReader: whatever bytes a client sends, the reader never reads
// past them, never hands out more than its limit, and either waits for
// more, returns messages, or ends the connection with 1002 or 1009.
func FuzzFrameReader(f *testing.F) {
	f.Add(clientFrame(0x81, []byte(`{"type":"ping"}`), false))
	f.Add(append(clientFrame(0x01, []byte("ab"), false), clientFrame(0x80, []byte("c"), false)...))
	f.Add(clientFrame(0x89, []byte("p"), false))
	f.Add([]byte{0x81, 0x01, 'x'})
	f.Add([]byte{0x81, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 10
		r := frameReader{max: limit}
		b := append([]byte(nil), in...)
		used := 0
		for used <= len(b) {
			n, need, ev, err := r.next(b[used:])
			if err != nil {
				if err.code != 1002 && err.code != 1009 {
					t.Fatalf("close code %d", err.code)
				}
				return
			}
			if n == 0 {
				if need != 0 && need <= len(b)-used {
					t.Fatalf("waits for %d bytes with %d in hand", need, len(b)-used)
				}
				return
			}
			if n > len(b)-used || len(ev.data) > limit {
				t.Fatalf("frame of %d bytes (%d of payload) from %d", n, len(ev.data), len(b)-used)
			}
			used += n
		}
	})
}
