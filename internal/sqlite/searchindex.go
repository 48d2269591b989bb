package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// The search index (messages_fts) is kept off the send path: sends only
// insert messages, and an indexer adds them to the index later, in rowid
// order and in batches, recording how far it got in search_index (see
// migrations/0060_search_index.sql). One FTS5 flush per batch instead of one
// per message is what makes it cheap.
const (
	// indexBatch caps the messages indexed in one write transaction, so
	// a long backlog does not hold the writer for long.
	indexBatch = 4096
	// indexDelay is how long the indexer lets new messages gather after
	// a send before it indexes them: larger batches make fewer, larger
	// FTS5 segments and so less merging.
	indexDelay = 100 * time.Millisecond
)

// indexer is the state of the background search indexer.
type indexer struct {
	kick chan struct{} // a message was stored; capacity 1
	stop chan struct{} // closed by StopIndexer
	done chan struct{} // closed when the loop returns
}

func newIndexer() indexer {
	return indexer{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// kickIndexer tells the indexer that new messages were committed.
func (s *Store) kickIndexer() {
	select {
	case s.idx.kick <- struct{}{}:
	default:
	}
}

// indexLoop indexes new messages until Close or StopIndexer. It starts by
// indexing whatever a previous run left (a crash, a stop), so no message
// stays unindexed across a restart.
func (s *Store) indexLoop() {
	defer close(s.idx.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-s.quit:
			return
		case <-s.idx.stop:
			return
		}
		for {
			n, _, err := s.indexNext(context.Background())
			if err != nil || n < indexBatch {
				// An error (the database closing, a full disk) is
				// retried on the next send; search catches up by itself.
				break
			}
		}
		select {
		case <-s.idx.kick:
			timer.Reset(indexDelay)
		case <-s.quit:
			return
		case <-s.idx.stop:
			return
		}
	}
}

// StopIndexer stops the background indexer of this Store; Search still
// indexes what it needs before answering. Tests use it to leave a backlog
// for the next Open to find.
func (s *Store) StopIndexer() {
	s.stopIdx.Do(func() { close(s.idx.stop) })
	<-s.idx.done
}

// SearchBacklog returns how many committed messages are not indexed yet.
func (s *Store) SearchBacklog(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM messages
		WHERE rowid > (SELECT indexed_to FROM search_index)`).Scan(&n)
	return n, translate(err)
}

// indexNext indexes up to indexBatch messages after the mark, in one write
// transaction shared with whatever else the writer runs (group commit),
// and returns how many it indexed and the mark after it. The mark moves in
// the same transaction, so a crash loses neither an entry nor the record of
// one.
func (s *Store) indexNext(ctx context.Context) (n int, mark int64, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		if err := tx.QueryRowContext(ctx, `SELECT indexed_to FROM search_index`).Scan(&mark); err != nil {
			return err
		}
		var to int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(MAX(rowid), 0) FROM
			(SELECT rowid FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?)`, mark, indexBatch).Scan(&n, &to); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (rowid, text)
			SELECT rowid, text FROM messages WHERE rowid > ? AND rowid <= ? ORDER BY rowid`, mark, to); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE search_index SET indexed_to = ?`, to); err != nil {
			return err
		}
		mark = to
		return nil
	})
	return n, mark, err
}

// catchUp indexes every message committed before it was called, so that a
// search sees what its caller (or anyone) sent just before: read your
// writes. It costs one read when the indexer is up to date. Messages sent
// while it runs are left to the indexer, so it ends under any load.
func (s *Store) catchUp(ctx context.Context) error {
	var last, mark int64
	if err := s.r.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(rowid), 0) FROM messages),
		(SELECT indexed_to FROM search_index)`).Scan(&last, &mark); err != nil {
		return translate(err)
	}
	// Every rowid at or below the mark is indexed, and a new row always
	// lands above it (see the delete trigger), so the mark reaching last
	// is enough.
	for mark < last {
		var err error
		if _, mark, err = s.indexNext(ctx); err != nil {
			return err
		}
	}
	return nil
}
