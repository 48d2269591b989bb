package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/bench"
)

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
switchboard_connections{node="a"} 3
switchboard_frames_in_total{node="a",type="send"} 10
switchboard_frames_in_total{node="a",type="ping"} 5
go_memstats_heap_inuse_bytes 1.048576e+06
`)
	}))
	defer srv.Close()
	s, err := bench.Scrape(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"process_cpu_seconds_total":    12.5,
		"switchboard_connections":      3,
		"switchboard_frames_in_total":  15,
		"go_memstats_heap_inuse_bytes": 1 << 20,
	}
	for k, v := range want {
		if got := s[k]; got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
}
