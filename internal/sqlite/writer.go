package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// maxJobs caps how many writes share one transaction.
const maxJobs = 256

// job is a write waiting for the writer connection.
type job struct {
	ctx    context.Context
	fn     func(ctx context.Context, tx *sql.Tx) error
	done   chan error
	weight int // rows it is expected to write: the heaviest runs first
}

// write runs fn in a transaction on the writer connection and returns once
// that transaction has committed (or fn failed and was undone).
//
// Writes that arrive while the writer is busy are run together in the next
// transaction, each inside its own savepoint, so they share one commit and
// one fsync (group commit): under load, receipts, logins and the core's
// message batches do not each pay for a disk sync. A write that fails is
// rolled back to its savepoint and does not affect the others.
//
// fn gets a context that is never cancelled: interrupting a statement would
// make SQLite roll back the whole shared transaction. A write whose ctx ends
// while it waits is dropped with ctx's error.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.writeWeighted(ctx, 1, fn)
}

// writeWeighted is write for a job expected to write about weight rows
// (a batch of messages: one per message).
func (s *Store) writeWeighted(ctx context.Context, weight int, fn func(ctx context.Context, tx *sql.Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1), weight: weight}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return chat.Errorf(chat.EUnavailable, "the database is closed")
	}
	// Once handed over, the job runs or is dropped by the writer; wait for
	// which, so a caller never takes "cancelled" for "not stored".
	return <-j.done
}

// writeLoop runs the queued writes until Close.
func (s *Store) writeLoop() {
	defer close(s.loopDone)
	batch := make([]*job, 0, maxJobs)
	errs := make([]error, maxJobs)
	for {
		batch = batch[:0]
		select {
		case j := <-s.jobs:
			batch = append(batch, j)
		case <-s.quit:
			return
		}
	fill:
		for len(batch) < maxJobs {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		clear(errs)
		err := s.runJobs(batch, errs[:len(batch)])
		for i, j := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
			j.done <- translate(errs[i])
		}
	}
}

// runJobs runs a batch of jobs in one transaction, setting errs[i] for a
// job that failed on its own. The returned error is for the jobs that did
// not: the transaction as a whole failed and nothing of theirs was stored.
//
// Each job but the first runs inside a savepoint, so that one failing is
// undone alone. The first needs none: if it fails, the transaction, which
// holds nothing else yet, is rolled back and the others go on in a new
// one. That matters because inside a savepoint SQLite copies every page a
// statement changes to a journal first: for a batch of messages that was
// a tenth of the writer's time (docs/benchmarks.md). So the heaviest job
// goes first.
func (s *Store) runJobs(batch []*job, errs []error) error {
	ctx := context.Background()
	heaviest := 0
	for i, j := range batch {
		if j.weight > batch[heaviest].weight {
			heaviest = i
		}
	}
	// Jobs in one batch come from callers each waiting for its own, so
	// their order is not one any caller relies on. (errs is all nil yet,
	// and the caller pairs errs[i] with batch[i] after.)
	batch[0], batch[heaviest] = batch[heaviest], batch[0]

	for first := 0; first < len(batch); first++ {
		j := batch[first]
		if err := j.ctx.Err(); err != nil {
			errs[first] = err
			continue
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := j.fn(context.WithoutCancel(j.ctx), tx); err != nil {
			errs[first] = err
			tx.Rollback()
			continue
		}
		return s.runRest(ctx, tx, batch[first+1:], errs[first+1:])
	}
	return nil
}

// runRest runs the jobs after the first of tx, each in a savepoint, and
// commits.
func (s *Store) runRest(ctx context.Context, tx *sql.Tx, batch []*job, errs []error) error {
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
			tx.Rollback()
			return err
		}
		if err := j.fn(context.WithoutCancel(j.ctx), tx); err != nil {
			errs[i] = err
			// If SQLite already rolled back the whole transaction (it does
			// on some I/O errors), the savepoint is gone and this fails:
			// then every job fails.
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO job"); rerr != nil {
				tx.Rollback()
				return errors.Join(err, rerr)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE job"); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}
