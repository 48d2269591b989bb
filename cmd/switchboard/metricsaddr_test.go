package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsOnOwnListener: metrics and profiles answer on --metrics-addr
// only; the public port says 404 for both.
func TestMetricsOnOwnListener(t *testing.T) {
	s := startServer(t)
	if s.Metrics == "" || s.Metrics == s.URL {
		t.Fatalf("metrics listener %q; want one apart from %s", s.Metrics, s.URL)
	}
	for _, tc := range []struct {
		url, contains string
		status        int
	}{
		{s.URL + "/metrics", "", 404},
		{s.URL + "/debug/pprof/", "", 404},
		{s.URL + "/debug/pprof/goroutine?debug=1", "", 404},
		{s.Metrics + "/metrics", "switchboard_connections", 200},
		{s.Metrics + "/debug/pprof/", "goroutine", 200},
	} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d %.60q; want %d with %q", tc.url, resp.StatusCode, body, tc.status, tc.contains)
		}
	}
}

// TestMetricsOffByDefault: without --metrics-addr no metrics listener
// starts, and the public port still says 404.
func TestMetricsOffByDefault(t *testing.T) {
	s := startServer(t, "--metrics-addr", "")
	if s.Metrics != "" {
		t.Fatalf("metrics listener %q started without --metrics-addr", s.Metrics)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("public /metrics: %d; want 404", resp.StatusCode)
	}
}
