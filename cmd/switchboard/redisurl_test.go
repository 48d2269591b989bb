package main

import (
	"slices"
	"testing"
)

func TestParseSentinelURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr bool
		addrs   []string
		master  string
		db      int
		pass    string
		spass   string
	}{
		{url: "redis-sentinel://127.0.0.1:26379/mymaster", addrs: []string{"127.0.0.1:26379"}, master: "mymaster"},
		{url: "redis-sentinel://:secret@a:1,b:2,c:3/sb?db=2&sentinel_password=s2", addrs: []string{"a:1", "b:2", "c:3"}, master: "sb", db: 2, pass: "secret", spass: "s2"},
		{url: "redis-sentinel://a:1/", wantErr: true},         // no master
		{url: "redis-sentinel://a:1/m/x", wantErr: true},      // two path parts
		{url: "redis-sentinel://a/m", wantErr: true},          // no port
		{url: "redis-sentinel://a:1,/m", wantErr: true},       // empty address
		{url: "redis-sentinel://a:1/m?db=x", wantErr: true},   // bad db
		{url: "redis-sentinel://a:1/m?db=-1", wantErr: true},  // negative db
		{url: "redis-sentinel://a:1/m?pool=9", wantErr: true}, // unknown parameter
		{url: "redis://a:1/0", wantErr: true},                 // another scheme
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			opt, err := parseSentinelURL(tt.url)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", opt)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(opt.SentinelAddrs, tt.addrs) || opt.MasterName != tt.master || opt.DB != tt.db ||
				opt.Password != tt.pass || opt.SentinelPassword != tt.spass {
				t.Errorf("got addrs %v master %q db %d pass %q sentinel pass %q", opt.SentinelAddrs, opt.MasterName, opt.DB, opt.Password, opt.SentinelPassword)
			}
		})
	}
}

func TestParseClusterURL(t *testing.T) {
	tests := []struct {
		url        string
		wantErr    bool
		addrs      []string
		user, pass string
	}{
		{url: "redis-cluster://127.0.0.1:7000", addrs: []string{"127.0.0.1:7000"}},
		{url: "redis-cluster://:secret@a:1,b:2,c:3", addrs: []string{"a:1", "b:2", "c:3"}, pass: "secret"},
		{url: "redis-cluster://sb:secret@a:1/", addrs: []string{"a:1"}, user: "sb", pass: "secret"},
		{url: "redis-cluster://a:1/0", wantErr: true},    // a database
		{url: "redis-cluster://a", wantErr: true},        // no port
		{url: "redis-cluster://a:1,,b:2", wantErr: true}, // empty address
		{url: "redis-cluster://a:1?db=1", wantErr: true}, // unknown parameter
		{url: "redis-sentinel://a:1/m", wantErr: true},   // another scheme
		{url: "redis-cluster://[::1:1", wantErr: true},   // not a URL
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			opt, err := parseClusterURL(tt.url)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", opt)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(opt.Addrs, tt.addrs) || opt.Username != tt.user || opt.Password != tt.pass {
				t.Errorf("got addrs %v user %q pass %q", opt.Addrs, opt.Username, opt.Password)
			}
		})
	}
}
