package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/switchboard-chat/switchboard/wire"
)

// Defaults of an EventStream.
const (
	DefaultStreamMaxLine     = 1 << 20 // bytes of one line or event
	DefaultStreamMaxBackoff  = 30 * time.Second
	DefaultStreamIdleTimeout = 90 * time.Second
	DefaultStreamBuffer      = 256
	defaultStreamBackoff     = time.Second
)

// StreamConfig tunes an EventStream. Zero values take the defaults.
type StreamConfig struct {
	// LastEventID resumes a stream: the id of the last event a previous
	// stream handed over (EventStream.LastEventID). "" starts at each
	// conversation's read position.
	LastEventID string
	// MinBackoff is the wait before the first reconnect after a cut [the
	// server's retry: field, else 1s], doubled, with jitter, per failed
	// attempt up to MaxBackoff [30s]. A reconnect frame (the node is
	// draining) is followed at once.
	MinBackoff, MaxBackoff time.Duration
	// MaxLine bounds a line, and an event's data, in bytes [1 MiB]; a
	// longer one ends the stream with ErrLineTooLong.
	MaxLine int
	// IdleTimeout: a connection that brings nothing, not even the
	// server's keep-alive comments, for this long is dropped and
	// reconnected [90s].
	IdleTimeout time.Duration
	// Buffer is how many frames are read ahead of the caller [256]. When
	// it is full the stream stops reading; a server that then gives up on
	// the slow stream is reconnected to and resumes.
	Buffer int
}

// EventStream reads the Server-Sent Events stream GET /v1/events: the
// same server frames a WebSocket Conn gets pushed (message, update,
// receipt, typing, member, ...), for a client that only receives.
//
// Each connection authenticates with a fresh single-use ticket
// (EventsTicket) and begins with a ready frame, then the messages after
// the stream's cursors (from the store), then an ack frame with id "sync"
// listing the conversations, then live frames. When the connection is cut
// the stream reconnects with backoff and resumes with Last-Event-ID, so
// no message frame is lost or repeated; frames other than messages
// (typing, receipts) sent while it was cut are not replayed.
//
// An EventStream costs one goroutine.
type EventStream struct {
	c      *Client
	cfg    StreamConfig
	frames chan wire.ServerFrame
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	lastID     string
	err        error
	reconnects int
	retry      time.Duration // the server's retry: field
}

// OpenEvents opens the event stream with the Client's session. ctx bounds
// the opening only; Close ends the stream. A session the server refuses
// is an *Error here; later connection failures are retried.
func (c *Client) OpenEvents(ctx context.Context, cfg StreamConfig) (*EventStream, error) {
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultStreamMaxBackoff
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultStreamMaxLine
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultStreamIdleTimeout
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultStreamBuffer
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &EventStream{c: c, cfg: cfg, frames: make(chan wire.ServerFrame, cfg.Buffer), cancel: cancel,
		done: make(chan struct{}), lastID: cfg.LastEventID}
	stop := context.AfterFunc(ctx, cancel) // ctx ending while opening aborts it
	resp, err := s.connect(sctx)
	if !stop() || err != nil {
		cancel()
		if err == nil {
			resp.Body.Close()
			err = ctx.Err()
		}
		return nil, err
	}
	go s.run(sctx, resp)
	return s, nil
}

// Frames returns the server frames in arrival order. It is closed when
// the stream ends for good; Err then says why.
func (s *EventStream) Frames() <-chan wire.ServerFrame { return s.frames }

// Done is closed when the stream has ended.
func (s *EventStream) Done() <-chan struct{} { return s.done }

// Err returns nil while the stream goes on, then why it ended: ErrClosed
// after Close, an *Error when the server refused the session (unauthorized
// when it was logged out, expired or suspended), ErrLineTooLong, or a
// frame that was not JSON.
func (s *EventStream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// LastEventID returns the id of the last event whose frame was put on
// Frames: a later stream opened with it resumes after that event. (Frames
// still waiting in the buffer count as handed over.)
func (s *EventStream) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Reconnects returns how many times the stream has reconnected.
func (s *EventStream) Reconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconnects
}

// Close ends the stream and waits for its goroutine.
func (s *EventStream) Close() error {
	s.end(ErrClosed)
	s.cancel()
	<-s.done
	return nil
}

// end records why the stream ends, the first reason only.
func (s *EventStream) end(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// connect takes a fresh ticket and opens one connection.
func (s *EventStream) connect(ctx context.Context) (*http.Response, error) {
	tk, err := s.c.EventsTicket(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.c.base+"/v1/events?ticket="+url.QueryEscape(tk.Ticket), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if id := s.LastEventID(); id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	resp, err := s.c.do(req)
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		return nil, &Error{Status: resp.StatusCode, Code: "bad_request", Message: "GET /v1/events answered " + ct + ", not an event stream"}
	}
	return resp, nil
}

// run reads connections until the stream ends, reconnecting after cuts.
func (s *EventStream) run(ctx context.Context, resp *http.Response) {
	defer close(s.done)
	defer close(s.frames)
	for {
		again, now := s.read(ctx, resp)
		if !again || ctx.Err() != nil {
			s.end(ErrClosed)
			return
		}
		s.mu.Lock()
		s.reconnects++
		base := s.cfg.MinBackoff
		if base <= 0 {
			base = s.retry
		}
		s.mu.Unlock()
		if base <= 0 {
			base = defaultStreamBackoff
		}
		wait := base
		if now {
			wait = 0
		}
		for {
			if wait > 0 {
				// Jitter spreads the clients of a node that went down.
				d := wait/2 + rand.N(wait)
				select {
				case <-ctx.Done():
					s.end(ErrClosed)
					return
				case <-time.After(d):
				}
			}
			var err error
			resp, err = s.connect(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil || !retryable(err) {
				s.end(err)
				return
			}
			wait = min(max(2*wait, base), s.cfg.MaxBackoff)
		}
	}
}

// retryable reports whether a failed connect may succeed later: a network
// error, a server error or overload, not a refused session.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// read hands over one connection's frames until it ends. again: the
// stream should reconnect; now: at once (the node asked to).
func (s *EventStream) read(ctx context.Context, resp *http.Response) (again, now bool) {
	defer resp.Body.Close()
	idle := time.AfterFunc(s.cfg.IdleTimeout, func() { resp.Body.Close() })
	defer idle.Stop()
	p := newSSEReader(resp.Body, s.cfg.MaxLine)
	p.sawActive = func() { idle.Reset(s.cfg.IdleTimeout) }
	for {
		ev, err := p.next()
		if p.retry > 0 {
			s.mu.Lock()
			s.retry = p.retry
			s.mu.Unlock()
		}
		if errors.Is(err, ErrLineTooLong) {
			s.end(err)
			return false, false
		}
		if err != nil {
			return true, false // cut, or idle: reconnect
		}
		var f wire.ServerFrame
		if err := json.Unmarshal(ev.Data, &f); err != nil {
			s.end(fmt.Errorf("switchboard: event stream frame is not JSON: %w", err))
			return false, false
		}
		select {
		case s.frames <- f:
		case <-ctx.Done():
			return false, false
		}
		if ev.HasID {
			s.mu.Lock()
			s.lastID = ev.ID
			s.mu.Unlock()
		}
		switch f.Type {
		case wire.TypeReconnect:
			return true, true
		case wire.TypeError:
			if f.ID != "" {
				continue
			}
			// An error frame ends the connection: a refused session ends
			// the stream, anything else (too slow) is reconnected.
			if f.Code == "unauthorized" || f.Code == "forbidden" {
				s.end(&Error{Code: f.Code, Message: f.Message})
				return false, false
			}
			return true, false
		}
	}
}
