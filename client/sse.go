package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrLineTooLong ends an event stream whose server sent a line, or an
// event's data, longer than the stream's MaxLine.
var ErrLineTooLong = errors.New("switchboard: event stream line too long")

// sseEvent is one event of a text/event-stream.
type sseEvent struct {
	ID    string // the event's id, "" if it had none
	HasID bool
	Name  string // its event: field, "" for the default (message)
	Data  []byte // its data: lines joined with "\n"
}

// sseReader parses a text/event-stream (the WHATWG HTML "server-sent
// events" format): lines end in LF, CRLF or CR; a blank line dispatches
// the event gathered; lines starting with ':' are comments; fields are
// data, event, id and retry, and others are ignored.
//
// One deviation keeps resuming safe: an id counts only once its event is
// complete, so a connection cut between an event's id line and its blank
// line does not skip that event on resume.
type sseReader struct {
	r         *bufio.Reader
	max       int           // bytes of a line, and of an event's data
	retry     time.Duration // the last retry: field, 0 if none
	afterCR   bool          // the last line ended in CR: skip an LF next
	line      []byte
	sawActive func() // called on every byte read (for an idle timer); may be nil
}

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 16<<10), max: max}
}

// readLine returns the next line without its end; ErrLineTooLong past max.
func (p *sseReader) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if p.afterCR {
			p.afterCR = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return p.line, nil
		case '\r':
			p.afterCR = true
			return p.line, nil
		}
		if len(p.line) >= p.max {
			return nil, fmt.Errorf("%w (over %d bytes)", ErrLineTooLong, p.max)
		}
		p.line = append(p.line, b)
	}
}

// next returns the next event that has data. An event cut off by the end
// of the stream is dropped, as the format says.
func (p *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	hasData := false
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if p.sawActive != nil {
			p.sawActive()
		}
		if len(line) == 0 {
			if hasData {
				ev.Data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
				return ev, nil
			}
			// An event without data dispatches nothing; its id is dropped
			// with it (the server never sends one).
			ev, hasData = sseEvent{}, false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue // a comment: the server's keep-alive
		}
		field, value, _ := strings.Cut(string(line), ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "data":
			if data.Len()+len(value)+1 > p.max {
				return sseEvent{}, fmt.Errorf("%w (event data over %d bytes)", ErrLineTooLong, p.max)
			}
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "event":
			ev.Name = value
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID, ev.HasID = value, true
			}
		case "retry":
			if ms, err := strconv.ParseUint(value, 10, 31); err == nil && strings.Trim(value, "0123456789") == "" {
				p.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}
