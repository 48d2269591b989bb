package postgres

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Option changes how Open sets up the store.
type Option func(*options)

type options struct {
	log    *slog.Logger
	outbox *outbox
}

// WithLogger makes the store log each outage of the database twice: once
// when an operation first fails because the database is unreachable or
// read-only, and once when one succeeds again, with the outage's length
// and how many operations failed during it. Without it the store logs
// nothing.
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

// resetEvery is how often at most a read-only error empties the pool.
const resetEvery = time.Second

// outage is a pgx tracer that watches every query, batch, connect and
// acquire of the pool for the database going away and coming back. On a
// read-only error (a standby, or a primary that Patroni demoted) it also
// empties the pool, so the next connections go through target_session_attrs
// to the new primary instead of reusing ones to the old.
type outage struct {
	log  *slog.Logger
	pool atomic.Pointer[pgxpool.Pool]
	down atomic.Bool

	mu        sync.Mutex
	since     time.Time
	failed    int
	lastReset time.Time
}

var (
	_ pgx.QueryTracer       = (*outage)(nil)
	_ pgx.BatchTracer       = (*outage)(nil)
	_ pgx.ConnectTracer     = (*outage)(nil)
	_ pgxpool.AcquireTracer = (*outage)(nil)
)

func newOutage(log *slog.Logger) *outage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &outage{log: log}
}

// observe records the end of one operation.
func (o *outage) observe(ctx context.Context, err error) {
	if o.pool.Load() == nil {
		return // Open has not finished
	}
	if err == nil {
		if o.down.Load() {
			o.up()
		}
		return
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		// The caller gave up; that says nothing about the database.
		return
	}
	if chat.ErrorCode(dbErr(err)) != chat.EUnavailable {
		return
	}
	var pgErr *pgconn.PgError
	readOnly := errors.As(err, &pgErr) && pgErr.Code == codeReadOnly
	o.mu.Lock()
	defer o.mu.Unlock()
	if readOnly && time.Since(o.lastReset) >= resetEvery {
		o.lastReset = time.Now()
		if p := o.pool.Load(); p != nil {
			// Not under the tracer's caller: Reset takes the pool's lock.
			go p.Reset()
		}
	}
	o.failed++
	if o.down.CompareAndSwap(false, true) {
		o.since = time.Now()
		o.failed = 1
		o.log.Warn("PostgreSQL unavailable: operations fail with unavailable until it is back", "err", err, "read_only", readOnly)
	}
}

func (o *outage) up() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down.CompareAndSwap(true, false) {
		return
	}
	o.log.Info("PostgreSQL available again", "outage", time.Since(o.since).Round(time.Millisecond), "failed_operations", o.failed)
}

// TraceQueryStart implements pgx.QueryTracer.
func (o *outage) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (o *outage) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	o.observe(ctx, data.Err)
}

// TraceBatchStart implements pgx.BatchTracer.
func (o *outage) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (o *outage) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (o *outage) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	o.observe(ctx, data.Err)
}

// TraceConnectStart implements pgx.ConnectTracer.
func (o *outage) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return ctx
}

// TraceConnectEnd implements pgx.ConnectTracer. Only failures count: a
// connection is not yet an operation that worked.
func (o *outage) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if data.Err != nil {
		o.observe(ctx, data.Err)
	}
}

// TraceAcquireStart implements pgxpool.AcquireTracer.
func (o *outage) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return ctx
}

// TraceAcquireEnd implements pgxpool.AcquireTracer.
func (o *outage) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	if data.Err != nil {
		o.observe(ctx, data.Err)
	}
}
