package push_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/push"
)

func TestBackoff(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		attempts   int
		retryAfter string
		min, max   time.Duration
	}{
		{"first", 1, "", time.Second, time.Second},
		{"doubles", 3, "", 4 * time.Second, 4 * time.Second},
		{"capped at 10 minutes", 40, "", 10 * time.Minute, 10 * time.Minute},
		{"Retry-After seconds", 1, "7", 7 * time.Second, 7 * time.Second},
		{"Retry-After zero", 5, "0", 0, 0},
		{"Retry-After capped at an hour", 1, "86400", time.Hour, time.Hour},
		{"Retry-After date", 1, future, 80 * time.Second, 90 * time.Second},
		{"Retry-After date passed", 1, past, 0, 0},
		{"Retry-After garbage", 2, "soon", 2 * time.Second, 2 * time.Second},
		{"Retry-After negative", 2, "-5", 2 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := push.Backoff(time.Second, tt.attempts, tt.retryAfter); got < tt.min || got > tt.max {
				t.Errorf("backoff(%d, %q) = %v; want %v..%v", tt.attempts, tt.retryAfter, got, tt.min, tt.max)
			}
		})
	}
}
