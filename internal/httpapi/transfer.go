package httpapi

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Transfer lets a long body through the server's read and write timeouts
// while its bytes keep moving: each read of the request body and each write
// of the response pushes both connection deadlines to idle from now. A body
// that stalls for idle is cut, however long the transfer has run. It is for
// routes whose bodies may be large (media uploads and downloads); the rest
// of the API keeps the server's whole-request timeouts.
func Transfer(h http.Handler, idle time.Duration) http.Handler {
	if idle <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &progress{rc: http.NewResponseController(w), idle: idle}
		p.touch()
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &progressBody{ReadCloser: r.Body, p: p}
		}
		h.ServeHTTP(&progressWriter{ResponseWriter: w, p: p}, r)
	})
}

// progress moves a connection's deadlines forward. The body may be read
// on another goroutine than the one writing the answer (media strips
// metadata on one), so last is atomic.
type progress struct {
	rc   *http.ResponseController
	idle time.Duration
	last atomic.Int64 // unix nanoseconds of the last extension
}

// touch extends both deadlines; it skips the syscalls when the last
// extension is under a tenth of idle old, as a burst of small reads would
// otherwise pay two per read.
func (p *progress) touch() {
	now := time.Now()
	last := p.last.Load()
	if now.UnixNano()-last < int64(p.idle/10) || !p.last.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	_ = p.rc.SetReadDeadline(now.Add(p.idle))
	_ = p.rc.SetWriteDeadline(now.Add(p.idle))
}

type progressBody struct {
	io.ReadCloser
	p *progress
}

func (b *progressBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	if n > 0 {
		b.p.touch()
	}
	return n, err
}

type progressWriter struct {
	http.ResponseWriter
	p *progress
}

func (w *progressWriter) Write(buf []byte) (int, error) {
	w.p.touch()
	return w.ResponseWriter.Write(buf)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
