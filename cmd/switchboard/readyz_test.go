package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestReadyzNamesNoAddress: with Redis unreachable the node is not ready,
// and its answer says so without Redis's address.
func TestReadyzNamesNoAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	s := startServer(t, "--redis", "redis://"+dead+"/0")
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.Contains(string(body), "127.0.0.1") {
		t.Fatalf("/readyz = %d %s; want 503 naming no address", resp.StatusCode, body)
	}
}
