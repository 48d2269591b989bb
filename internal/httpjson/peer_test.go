package httpjson_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/httpjson"
)

func TestClientAddr(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, tc := range []struct {
		name    string
		remote  string
		headers map[string]string
		trusted []netip.Prefix
		want    string
	}{
		{"a direct client", "203.0.113.7:5123", nil, loopback, "203.0.113.7"},
		{"a direct client cannot claim an address", "203.0.113.7:5123", map[string]string{"X-Real-IP": "198.51.100.1"}, loopback, "203.0.113.7"},
		{"behind a trusted proxy", "127.0.0.1:40000", map[string]string{"X-Real-IP": "198.51.100.1"}, loopback, "198.51.100.1"},
		{"the last hop of X-Forwarded-For", "127.0.0.1:40000", map[string]string{"X-Forwarded-For": "10.1.1.1, 198.51.100.2"}, loopback, "198.51.100.2"},
		{"a proxy that sent nothing", "127.0.0.1:40000", nil, loopback, "127.0.0.1"},
		{"a garbage header", "127.0.0.1:40000", map[string]string{"X-Real-IP": "not an ip"}, loopback, "127.0.0.1"},
		{"no trusted proxies", "127.0.0.1:40000", map[string]string{"X-Real-IP": "198.51.100.1"}, nil, "127.0.0.1"},
		{"IPv6", "[2001:db8::1]:443", nil, loopback, "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := httpjson.ClientAddr(r, tc.trusted); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
