package storetest

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// searchVocabulary is how many distinct words the search benchmark's
// messages are made of; word frequencies follow Zipf's law, as in real
// text.
const searchVocabulary = 20_000

// SearchRows is the number of messages BenchmarkSearch loads: the
// SWITCHBOARD_BENCH_SEARCH_ROWS environment variable, or def.
func SearchRows(def int) int {
	if n, err := strconv.Atoi(os.Getenv("SWITCHBOARD_BENCH_SEARCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return def
}

// word returns the i-th word of the benchmark's vocabulary: pronounceable,
// distinct, and never a prefix of another by accident of numbering.
func word(i int) string {
	const cons, vows = "bdfgklmnprstvz", "aeiou"
	var b strings.Builder
	for {
		b.WriteByte(cons[i%len(cons)])
		i /= len(cons)
		b.WriteByte(vows[i%len(vows)])
		i /= len(vows)
		if i == 0 {
			return b.String()
		}
	}
}

// BenchmarkSearch loads rows messages in bulk (batches of 512 through
// AppendMessages, spread over the benchmark's 256 conversations, 8 to 15
// Zipf-distributed words each), then measures Search as one user who is in
// 2 of those conversations (under 1% of the messages, so most matches are
// filtered out as unreadable): a rare word (rank 300, about 0.2% of
// messages), a very rare one (rank 5000), the most common word, two common
// words, the common word in one conversation, and a word that is nowhere.
// It reports the load rate and, per query, how many results a page holds.
func BenchmarkSearch(b *testing.B, open Opener, rows int) {
	f := newFixture(b, open)
	convs, members := f.benchSetup(b)
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, searchVocabulary-1)
	start := time.Now()
	for sent := 0; sent < rows; {
		batch := make([]*chat.Append, min(512, rows-sent))
		for i := range batch {
			c := (sent + i) % len(convs)
			words := make([]string, 8+rng.IntN(8))
			for j := range words {
				words[j] = word(int(zipf.Uint64()))
			}
			m := f.msg(convs[c], members[c][0], strings.Join(words, " "))
			batch[i] = &chat.Append{Message: m}
		}
		if err := f.s.AppendMessages(f.ctx, batch); err != nil {
			b.Fatalf("AppendMessages: %v", err)
		}
		sent += len(batch)
	}
	load := time.Since(start)
	b.Logf("loaded %d messages in %s (%.0f msgs/s)", rows, load.Round(time.Millisecond), float64(rows)/load.Seconds())

	// users[0] of benchSetup is in conversations 0 and 128 (both direct).
	searcher := members[0][0]
	in := 0
	for _, ms := range members {
		for _, m := range ms {
			if m.ID == searcher.ID {
				in++
			}
		}
	}
	b.Logf("the searcher is in %d of %d conversations", in, len(convs))
	// The load is indexed in the background; one search first brings the
	// index up to date, so the queries below measure searching alone.
	if _, err := f.s.Search(f.ctx, searcher.ID, chat.SearchQuery{Text: "warm"}); err != nil {
		b.Fatalf("Search: %v", err)
	}
	rare, common := word(300), word(1)
	for _, q := range []struct {
		name string
		q    chat.SearchQuery
	}{
		{"rare-word", chat.SearchQuery{Text: rare, Limit: 50}},
		{"very-rare-word", chat.SearchQuery{Text: word(5000), Limit: 50}},
		{"common-word", chat.SearchQuery{Text: common, Limit: 50}},
		{"two-words", chat.SearchQuery{Text: common + " " + word(40), Limit: 50}},
		{"common-word-one-conversation", chat.SearchQuery{Text: common, Conversation: convs[0], Limit: 50}},
		{"absent-word", chat.SearchQuery{Text: "zzzzzz", Limit: 50}},
	} {
		b.Run(q.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				ms, err := f.s.Search(f.ctx, searcher.ID, q.q)
				if err != nil {
					b.Fatalf("Search(%+v): %v", q.q, err)
				}
				n = len(ms)
			}
			b.ReportMetric(float64(n), "results")
		})
	}
}
