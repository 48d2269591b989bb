package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
)

// backoff is how long waitFor sleeps between attempts: it doubles from min
// up to max, and each sleep is drawn between half of it and all of it, so
// nodes started together do not knock on the database in step. Attempts
// are logged at most once per logEvery.
type backoff struct {
	min, max, logEvery time.Duration
	attempt            time.Duration // per-attempt timeout
}

// startBackoff is the backoff of a node waiting for its backends.
var startBackoff = backoff{min: 100 * time.Millisecond, max: 5 * time.Second, logEvery: 5 * time.Second, attempt: 5 * time.Second}

// delay returns the sleep after the n-th failed attempt (n from 0).
func (b backoff) delay(n int) time.Duration {
	d := b.min
	for i := 0; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d/2 + rand.N(d/2+1)
}

// waitFor calls open until it succeeds. A failure that waiting can fix
// (EUnavailable: the service is down or not yet a primary) is retried with
// b's backoff; any other failure is returned at once, and so is ctx's
// error once ctx ends. waiting is called before each sleep.
func waitFor[T any](ctx context.Context, log *slog.Logger, b backoff, what string, waiting func(), open func(context.Context) (T, error)) (T, error) {
	start := time.Now()
	var lastLog time.Time
	for n := 0; ; n++ {
		actx, cancel := context.WithTimeout(ctx, b.attempt)
		v, err := open(actx)
		cancel()
		if err == nil {
			if n > 0 {
				log.Info(what+" reachable, starting", "attempts", n+1, "waited", time.Since(start).Round(time.Millisecond))
			}
			return v, nil
		}
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		if chat.ErrorCode(err) != chat.EUnavailable {
			return v, err
		}
		waiting()
		d := b.delay(n)
		if time.Since(lastLog) >= b.logEvery {
			lastLog = time.Now()
			log.Warn("waiting for "+what, "attempt", n+1, "waited", time.Since(start).Round(time.Millisecond), "retry_in", d.Round(time.Millisecond), "err", err)
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(d):
		}
	}
}

// standby answers on the node's listener while the node waits for its
// backends: /healthz says the process is alive, /readyz and everything else
// answer 503 so load balancers and clients go elsewhere. stop hands the
// listener back, still open, to the real server.
type standby struct {
	srv    *http.Server
	ln     *pausedListener
	served chan struct{}
	once   sync.Once
}

func startStandby(ln net.Listener, log *slog.Logger) *standby {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, r, log, chat.Errorf(chat.EUnavailable, "not ready: waiting for the database and Redis"))
	})
	s := &standby{
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		ln:     &pausedListener{Listener: ln},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(s.ln)
	}()
	return s
}

// stop ends the standby server and returns once the listener is free for
// the next one. Requests in flight get up to 2 s to finish.
func (s *standby) stop() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
		<-s.served
		s.ln.resume()
	})
}

// deadliner is a listener whose Accept can be interrupted (a TCP or Unix
// listener).
type deadliner interface {
	SetDeadline(time.Time) error
}

// pausedListener lends a listener to a server: Close interrupts Accept with
// a deadline instead of closing the socket, so connections queue in the
// kernel until the next server accepts them.
type pausedListener struct {
	net.Listener
	closed bool
	mu     sync.Mutex
}

func (l *pausedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
	}
	return c, err
}

func (l *pausedListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	d, ok := l.Listener.(deadliner)
	if !ok {
		return errors.New("listener cannot be paused")
	}
	return d.SetDeadline(time.Unix(1, 0))
}

// resume clears the deadline Close set.
func (l *pausedListener) resume() {
	if d, ok := l.Listener.(deadliner); ok {
		_ = d.SetDeadline(time.Time{})
	}
}

// waitBackends opens the store and the cluster link, waiting for each with
// startBackoff while a standby server answers on ln. It returns ctx's error
// if ctx ends first. When it has to wait it says so on stdout, with the
// address, in the form of the line a serving node prints.
func waitBackends(ctx context.Context, ln net.Listener, cfg serveConfig, stdout io.Writer, log *slog.Logger) (chat.Store, *cluster, error) {
	sb := startStandby(ln, log)
	defer sb.stop()
	var once sync.Once
	waiting := func() {
		once.Do(func() {
			fmt.Fprintf(stdout, "switchboard %s: node %s waiting for its backends, listening on http://%s (health checks only)\n", version, cfg.nodeID, ln.Addr())
		})
	}
	what := "PostgreSQL"
	if cfg.postgres == "" {
		what = "the SQLite store"
	}
	store, err := waitFor(ctx, log, startBackoff, what, waiting, func(ctx context.Context) (chat.Store, error) {
		return openStore(ctx, cfg, log)
	})
	if err != nil {
		return nil, nil, err
	}
	cl, err := openCluster(ctx, cfg)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if _, err := waitFor(ctx, log, startBackoff, "Redis", waiting, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, cl.ping(ctx)
	}); err != nil {
		cl.close()
		store.Close()
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	return store, cl, nil
}
