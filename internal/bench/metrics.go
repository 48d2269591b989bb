package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The /metrics series the report reads.
const (
	mRSS        = "process_resident_memory_bytes"
	mCPU        = "process_cpu_seconds_total"
	mHeap       = "go_memstats_heap_inuse_bytes"
	mStack      = "go_memstats_stack_inuse_bytes"
	mGoroutines = "go_goroutines"
	mConns      = "switchboard_connections"
	mMessages   = "switchboard_messages_sent_total"
	mFramesOut  = "switchboard_frames_out_total"
)

// Sample is one scrape of a node's /metrics: each series' value summed over
// its labels.
type Sample map[string]float64

// Scrape fetches baseURL/metrics and parses the Prometheus text format.
func Scrape(ctx context.Context, hc *http.Client, baseURL string) (Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %s", baseURL, resp.Status)
	}
	s := Sample{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := parseLine(sc.Text())
		if ok {
			s[name] += v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scrape %s: %w", baseURL, err)
	}
	return s, nil
}

// parseLine reads `name{labels} value [timestamp]`.
func parseLine(line string) (name string, v float64, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", 0, false
	}
	end := strings.IndexAny(line, "{ ")
	if end < 0 {
		return "", 0, false
	}
	name = line[:end]
	rest := line[end:]
	if rest[0] == '{' {
		close := strings.LastIndexByte(rest, '}')
		if close < 0 {
			return "", 0, false
		}
		rest = rest[close+1:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", 0, false
	}
	return name, v, true
}
