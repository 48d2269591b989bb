package postgres

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The search index (message_search) is kept off the send path: a send
// only inserts its messages, each with a search_id from a sequence, and an
// indexer adds them to message_search later, in batches (see
// migrations/0060_search_index.sql). An edit or delete fixes the entry of
// an indexed message in its own transaction (a trigger), taking the
// passes' advisory lock shared so that it never interleaves with a pass.
//
// The difficulty is that transactions commit out of search_id order: a
// send that drew 41 may commit after one that drew 42, so "everything up
// to the largest search_id seen is indexed" would skip 41 for ever. The
// indexer therefore keeps two things apart:
//
//   - each pass indexes every message it can see above indexed_to that is
//     not in message_search yet (cheap to find: the rows above indexed_to
//     are the recent ones);
//   - indexed_to itself moves only to a search_id L that is settled: L
//     was the sequence's last value before the pass took its own
//     transaction id X, and a later pass sees that no session of this
//     database still runs a transaction whose id is below X. A transaction holds
//     its id before it draws a search_id (the column default calls
//     pg_current_xact_id() first), so any that drew one at or below L had
//     an id below X; once all those ended, every search_id at or below L
//     that will ever commit is visible, and that pass indexed it. Only
//     this database's sessions count (a snapshot's xmin would wait for
//     every database of the server); pg_stat_activity shows every
//     session's backend_xid to any role. (A prepared, two-phase
//     transaction has no session and would not count: the store never
//     prepares one.)
//
// Passes of all nodes take turns on an advisory lock, so they never index
// the same rows at once and indexed_to is only moved under it.
const (
	// searchIndexLock is the pg_advisory_xact_lock key of the passes
	// (0060_search_index.sql's edit trigger names it too: 1398229331).
	searchIndexLock = 0x5357_4953 // "SWIS"
	// indexBatch caps the messages one pass indexes.
	indexBatch = 4096
	// indexDelay is how long new messages gather before a pass, so that
	// passes are few and large.
	indexDelay = 100 * time.Millisecond
)

// sqlIndexPass indexes up to $2 messages above indexed_to ($1) that are
// not in message_search yet, in search_id order, and answers how many and
// the largest search_id among them. The anti-join is a merge of two index
// range scans (messages_search_id and message_search's key from $1 up),
// so rows indexed by an earlier pass cost next to nothing to pass over.
// The tsvector is computed as message_tsv does, written out: message_tsv
// itself, IMMUTABLE over the STABLE convert_from, cannot be inlined and
// costs a function call per row.
const sqlIndexPass = `WITH todo AS MATERIALIZED (
		SELECT m.conversation_id, m.search_id, m.text FROM messages m
		WHERE m.search_id > $1 AND NOT EXISTS (
			SELECT 1 FROM message_search x WHERE x.search_id = m.search_id AND x.search_id > $1)
		ORDER BY m.search_id LIMIT $2
	), ins AS (
		INSERT INTO message_search (search_id, conversation_id, tsv)
		SELECT search_id, conversation_id, ` + tsvText + ` FROM todo
	)
	SELECT count(*), max(search_id) FROM todo`

// sqlRunningBefore answers the pass's own transaction id, assigned now,
// and whether a session of this database runs a transaction whose id is
// below $1. Every id assigned before this statement is below the pass's
// own. (A snapshot's xmax would not do: it is one past the latest
// completed id, so a transaction that drew the newest id and still runs
// is at or above it.) The pass writes search_index anyway, so the id
// costs nothing extra. backend_xid is the 32-bit id: it is widened
// against the pass's id, as signed distance, so an id assigned after it
// counts as newer.
const sqlRunningBefore = `WITH n AS (SELECT pg_current_xact_id()::text::bigint AS nx),
	a AS (SELECT ((backend_xid::text::bigint - (SELECT nx FROM n) % 4294967296) + 4294967296) % 4294967296 AS d
		FROM pg_stat_activity
		WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND backend_xid IS NOT NULL)
	SELECT (SELECT nx FROM n),
		EXISTS (SELECT 1 FROM a WHERE (SELECT nx FROM n) + d - CASE WHEN d >= 2147483648 THEN 4294967296 ELSE 0 END < $1)`

// tsvText is message_tsv(text) written out.
const tsvText = `to_tsvector('simple'::regconfig, convert_from(CASE WHEN position('\x00'::bytea IN text) = 0 THEN text
		ELSE message_text_without_nul(text) END, 'UTF8'))`

// indexer is the state of this node's background search indexer.
type indexer struct {
	kick chan struct{} // messages were stored; capacity 1
	stop chan struct{} // closed by StopIndexer or Close
	done chan struct{} // closed when the loop returns
	once sync.Once

	// Searches on this node share passes: a search needs a pass that
	// began after it did; asked counts the searches that asked, and
	// covered is the number asked before the last finished pass began.
	mu      sync.Mutex
	asked   uint64
	covered uint64
	turn    chan struct{} // held by the search running passes; capacity 1
}

func newIndexer() *indexer {
	return &indexer{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		turn: make(chan struct{}, 1)}
}

// kickIndexer tells the indexer that new messages were committed.
func (s *Store) kickIndexer() {
	select {
	case s.idx.kick <- struct{}{}:
	default:
	}
}

// StopIndexer stops this node's background indexer; Search still indexes
// what it needs before answering. Tests use it to leave a backlog.
func (s *Store) StopIndexer() {
	s.idx.once.Do(func() { close(s.idx.stop) })
	<-s.idx.done
}

// SearchBacklog returns how many messages are not indexed yet.
func (s *Store) SearchBacklog(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM messages m
		WHERE m.search_id > (SELECT indexed_to FROM search_index)
			AND NOT EXISTS (SELECT 1 FROM message_search x WHERE x.search_id = m.search_id)`).Scan(&n)
	return n, dbErr(err)
}

// indexLoop runs passes after new messages until StopIndexer or Close. It
// starts with one, for whatever an earlier run (a crash, a stop) left.
func (s *Store) indexLoop() {
	defer close(s.idx.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-s.idx.stop:
			return
		}
		more, err := s.indexPasses(context.Background(), false, math.MaxInt64)
		if err != nil || more {
			// Another node's pass was running, or indexed_to has a step
			// to take: come back without waiting for a send. An error
			// (the database down) is retried the same way.
			timer.Reset(indexDelay)
			continue
		}
		select {
		case <-s.idx.kick:
			timer.Reset(indexDelay)
		case <-s.idx.stop:
			return
		}
	}
}

// indexPasses runs passes until one finds less than a batch to index, or
// has indexed up to search_id until. With wait it waits its turn on the
// lock; without, it gives up (more is true) when another pass holds it.
// more is also true when indexed_to has a step left to take.
func (s *Store) indexPasses(ctx context.Context, wait bool, until int64) (more bool, err error) {
	for {
		n, top, pending, ok, err := s.indexPass(ctx, wait)
		if err != nil {
			return true, err
		}
		if !ok {
			return true, nil
		}
		if n < indexBatch || top >= until {
			return pending, nil
		}
	}
}

// catchUp makes sure that a pass which began after catchUp was called has
// finished: then every message committed before the call is indexed as it
// now is, and a search reads its writes. Concurrent searches on this node
// share one pass.
func (s *Store) catchUp(ctx context.Context) error {
	// Usually the background indexer is up to date: then one read, in one
	// snapshot taken after the search began, shows that every message it
	// sees is indexed, and no pass is needed. Whatever committed before
	// now drew a search_id at or below until: passes need not go past it,
	// however fast messages arrive.
	var until int64
	var behind bool
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(pg_sequence_last_value('message_search_id'), 0),
		-- ORDER BY and LIMIT keep it a walk up messages_search_id, whatever the estimates.
		(SELECT m.search_id FROM messages m WHERE m.search_id > (SELECT indexed_to FROM search_index)
			AND NOT EXISTS (SELECT 1 FROM message_search x WHERE x.search_id = m.search_id)
			ORDER BY m.search_id LIMIT 1) IS NOT NULL`).Scan(
		&until, &behind); err != nil {
		return dbErr(err)
	}
	if !behind {
		return nil
	}
	x := s.idx
	x.mu.Lock()
	x.asked++
	me := x.asked
	x.mu.Unlock()
	// Only one search of this node runs passes at a time; the others wait
	// here and usually find their turn already served.
	select {
	case x.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-x.turn }()
	x.mu.Lock()
	if x.covered >= me {
		x.mu.Unlock()
		return nil
	}
	covering := x.asked
	x.mu.Unlock()
	if _, err := s.indexPasses(ctx, true, until); err != nil {
		return dbErr(err)
	}
	x.mu.Lock()
	x.covered = max(x.covered, covering)
	x.mu.Unlock()
	return nil
}

// indexPass runs one pass in one transaction: it indexes up to indexBatch
// messages above indexed_to that are not indexed yet, and
// moves indexed_to when its next step is settled. ok is false when wait is
// false and another pass holds the lock; pending is true when indexed_to
// has a step left to take.
func (s *Store) indexPass(ctx context.Context, wait bool) (n int, top int64, pending, ok bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The pass's statements walk short index ranges: JIT compiling them
		// (the planner's estimates for the newest rows are often far off)
		// costs more than running them, and a hash join would read all of
		// message_search. Set with the lock, to save round trips.
		lock := `SELECT pg_try_advisory_xact_lock($1)`
		if wait {
			lock = `SELECT pg_advisory_xact_lock($1) IS NOT NULL`
		}
		if err := tx.QueryRow(ctx, lock+`, set_config('jit', 'off', true), set_config('enable_hashjoin', 'off', true)`,
			int64(searchIndexLock)).Scan(&ok, nil, nil); err != nil || !ok {
			return err
		}
		// The state, read after the lock (a later statement: it sees the
		// previous pass's commit), with the sequence's last value; then, in
		// a still later statement, the pass's own transaction id: the
		// order the argument above needs. (The column keeps its name,
		// next_xmax, from when a snapshot's xmax stood there.)
		var indexedTo, nextTo, nextXmax, last int64
		if err := tx.QueryRow(ctx, `SELECT indexed_to, next_to, next_xmax,
			COALESCE(pg_sequence_last_value('message_search_id'), 0) FROM search_index`).Scan(
			&indexedTo, &nextTo, &nextXmax, &last); err != nil {
			return err
		}
		var xmax int64
		var running bool
		if err := tx.QueryRow(ctx, sqlRunningBefore, nextXmax).Scan(&xmax, &running); err != nil {
			return err
		}
		settled := nextTo > indexedTo && !running
		// Index in a still later snapshot: it sees every message at or
		// below nextTo when settled.
		var maxID *int64
		if err := tx.QueryRow(ctx, sqlIndexPass, indexedTo, indexBatch).Scan(&n, &maxID); err != nil {
			return err
		}
		if maxID != nil {
			top = *maxID
		}
		to := indexedTo
		if settled {
			to = nextTo
			if n == indexBatch && top < to {
				// Only up to where this batch stopped.
				to = top
			}
		}
		if to >= nextTo {
			// The step is taken (or there was none): the next one is
			// what this pass saw.
			nextTo, nextXmax = last, xmax
		}
		pending = nextTo > to
		_, err := tx.Exec(ctx, `UPDATE search_index SET indexed_to = $1, next_to = $2, next_xmax = $3`, to, nextTo, nextXmax)
		return err
	})
	if err == nil && n > 0 {
		// GIN keeps new entries in a pending list (fastupdate) that every
		// search reads in full until it is merged into the index: merge
		// this pass's now, in bulk, off the send path. Best effort: it
		// needs the table's owner, and otherwise autovacuum or the list's
		// size limit merges it, as before.
		_, _ = s.pool.Exec(ctx, `SELECT gin_clean_pending_list('message_search_tsv'::regclass)`)
	}
	return n, top, pending, ok, err
}
