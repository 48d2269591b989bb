package shard

import "context"

// Each shard indexes its own messages for search in the background (see
// internal/postgres/searchindex.go); search fans out to the shards, and
// each brings its index up to date before it answers.

// StopIndexer stops every database's background indexer.
func (s *Store) StopIndexer() {
	s.dir.StopIndexer()
	for _, sh := range s.shards {
		sh.StopIndexer()
	}
}

// SearchBacklog sums the shards' messages not indexed yet.
func (s *Store) SearchBacklog(ctx context.Context) (int64, error) {
	var total int64
	for _, sh := range s.shards {
		n, err := sh.SearchBacklog(ctx)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
