package client

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestSSEReader: the event stream format's line ends, fields, comments and
// limits, read from the text as a server would send it.
func TestSSEReader(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		max   int
		want  []string // "id|hasID|name|data" per event
		err   error    // after the events
		retry time.Duration
	}{
		{"one event", "id: a:1\ndata: {\"type\":\"message\"}\n\n", 0, []string{`a:1|true||{"type":"message"}`}, io.EOF, 0},
		{"CRLF and CR", "data: x\r\n\r\ndata: y\r\rdata: z\n\n", 0, []string{"|false||x", "|false||y", "|false||z"}, io.EOF, 0},
		{"comments and retry", ": keep-alive\n\nretry: 2000\n\ndata: x\n\n", 0, []string{"|false||x"}, io.EOF, 2 * time.Second},
		{"bad retry ignored", "retry: 2s\ndata: x\n\n", 0, []string{"|false||x"}, io.EOF, 0},
		{"multi-line data", "event: note\ndata: a\ndata:b\ndata\n\n", 0, []string{"|false|note|a\nb\n"}, io.EOF, 0},
		{"no space after colon, unknown field", "foo: bar\nid:7\ndata:x\n\n", 0, []string{"7|true||x"}, io.EOF, 0},
		{"id with NUL ignored", "id: a\x00b\ndata: x\n\n", 0, []string{"|false||x"}, io.EOF, 0},
		{"id without data is dropped", "id: 5\n\ndata: x\n\n", 0, []string{"|false||x"}, io.EOF, 0},
		{"cut mid-event: dropped", "data: x\n\nid: 9\ndata: {\"half", 0, []string{"|false||x"}, io.EOF, 0},
		{"line at the limit", "data: " + strings.Repeat("a", 10) + "\n\n", 16, []string{"|false||" + strings.Repeat("a", 10)}, io.EOF, 0},
		{"line over the limit", "data: " + strings.Repeat("a", 11) + "\n\n", 16, nil, ErrLineTooLong, 0},
		{"data over the limit", "data: aaaaaaaa\ndata: bbbbbbbb\n\n", 16, nil, ErrLineTooLong, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.max
			if max == 0 {
				max = 1 << 10
			}
			p := newSSEReader(strings.NewReader(tt.in), max)
			var got []string
			var err error
			for {
				var ev sseEvent
				if ev, err = p.next(); err != nil {
					break
				}
				got = append(got, fmt.Sprintf("%s|%v|%s|%s", ev.ID, ev.HasID, ev.Name, ev.Data))
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("events %q; want %q", got, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("err %v; want %v", err, tt.err)
			}
			if p.retry != tt.retry {
				t.Errorf("retry %v; want %v", p.retry, tt.retry)
			}
		})
	}
}
