package gateway

import (
	"encoding/binary"

	"github.com/lxzan/gws"
)

// frameReader turns the bytes a client sent into messages, for the poll
// engine, which reads whatever has arrived instead of blocking on a
// connection until a frame is whole. It keeps the rules gws applies on its
// read loop (RFC 6455 section 5): every client frame masked, no reserved
// bits (no extension is negotiated), control frames final and at most 125
// bytes, continuations only after an unfinished data frame, and a message
// over the read limit closes with 1009.
type frameReader struct {
	max int // largest message read; more closes the connection (1009)
	// A fragmented message being put together; fragOp is 0 when none is.
	fragOp gws.Opcode
	frag   []byte
}

// readEvent is what one frame amounts to.
type readEvent struct {
	op   gws.Opcode // text or binary for a whole message; ping, pong or close
	data []byte     // the payload; it may alias the buffer handed to next
}

// closeErr ends a connection with code; reason is sent with it.
type closeErr struct {
	code   uint16
	reason string
}

func (e *closeErr) Error() string { return e.reason }

var (
	errProtocol = &closeErr{1002, "gws: protocol error"}
	errTooLarge = &closeErr{1009, "gws: message too large"}
)

// frameHeaderMax is the longest frame header: 2 bytes, 8 of length, 4 of mask.
const frameHeaderMax = 14

// next reads one frame from the start of b. It returns how many bytes the
// frame took (0 when b holds only part of it; need then says how many
// bytes the whole frame has, when known), and a message when the frame
// completed one (ev.op 0 otherwise: a fragment kept for later). b is
// unmasked in place.
func (r *frameReader) next(b []byte) (n, need int, ev readEvent, err *closeErr) {
	if len(b) < 2 {
		return 0, 0, ev, nil
	}
	fin, rsv, op := b[0]&0x80 != 0, b[0]&0x70, gws.Opcode(b[0]&0x0F)
	masked, code := b[1]&0x80 != 0, int(b[1]&0x7F)
	head := 2
	length := code
	switch code {
	case 126:
		head += 2
		if len(b) < head {
			return 0, 0, ev, nil
		}
		length = int(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		head += 8
		if len(b) < head {
			return 0, 0, ev, nil
		}
		l := binary.BigEndian.Uint64(b[2:10])
		if l > uint64(r.max) {
			return 0, 0, ev, errTooLarge
		}
		length = int(l)
	}
	if length > r.max {
		return 0, 0, ev, errTooLarge
	}
	if rsv != 0 || !masked {
		return 0, 0, ev, errProtocol
	}
	head += 4
	if len(b) < head+length {
		return 0, head + length, ev, nil
	}
	mask := b[head-4 : head]
	p := b[head : head+length]
	unmask(p, mask)
	n = head + length
	switch op {
	case gws.OpcodePing, gws.OpcodePong, gws.OpcodeCloseConnection:
		if !fin || code > 125 {
			return 0, 0, ev, errProtocol
		}
		return n, 0, readEvent{op: op, data: p}, nil
	case gws.OpcodeText, gws.OpcodeBinary:
		if r.fragOp != 0 {
			return 0, 0, ev, errProtocol
		}
		if fin {
			return n, 0, readEvent{op: op, data: p}, nil
		}
		r.fragOp, r.frag = op, append(make([]byte, 0, length), p...)
		return n, 0, ev, nil
	case gws.OpcodeContinuation:
		if r.fragOp == 0 {
			return 0, 0, ev, errProtocol
		}
		if len(r.frag)+length > r.max {
			return 0, 0, ev, errTooLarge
		}
		r.frag = append(r.frag, p...)
		if !fin {
			return n, 0, ev, nil
		}
		ev = readEvent{op: r.fragOp, data: r.frag}
		r.fragOp, r.frag = 0, nil
		return n, 0, ev, nil
	default:
		return 0, 0, ev, errProtocol
	}
}

// unmask XORs p with the 4-byte mask key, as the client masked it.
func unmask(p, key []byte) {
	k := binary.LittleEndian.Uint32(key)
	k64 := uint64(k)<<32 | uint64(k)
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

// closeReply is the close frame payload answering a client's close frame
// with payload p, as gws answers: the client's code echoed when it is one
// an endpoint may send, 1000 for the registered codes below 1016, 1002 for
// a code no endpoint may send, and an empty payload for an empty one.
func closeReply(p []byte) []byte {
	switch {
	case len(p) == 0:
		return nil
	case len(p) == 1:
		return []byte{0x03, 0xEA} // 1002
	}
	code := binary.BigEndian.Uint16(p)
	reply := uint16(1000)
	switch {
	case code == 1004 || code == 1005 || code == 1006 || code == 1014 || code == 1015:
		reply = 1002
	case code < 1000 || code >= 5000 || code >= 1016 && code < 3000:
		reply = 1002
	case code >= 3000:
		reply = code
	}
	return binary.BigEndian.AppendUint16(nil, reply)
}
