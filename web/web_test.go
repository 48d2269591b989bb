package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/web"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	tests := []struct {
		path        string
		status      int
		contentType string
		contains    string
	}{
		{"/", http.StatusOK, "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"/app.js", http.StatusOK, "text/javascript; charset=utf-8", "textContent"},
		{"/api.js", http.StatusOK, "text/javascript; charset=utf-8", "export class Api"},
		{"/socket.js", http.StatusOK, "text/javascript; charset=utf-8", "export class Link"},
		{"/chat.js", http.StatusOK, "text/javascript; charset=utf-8", "export class Chat"},
		{"/view.js", http.StatusOK, "text/javascript; charset=utf-8", "export class ChatView"},
		{"/util.js", http.StatusOK, "text/javascript; charset=utf-8", "textContent"},
		{"/settings.js", http.StatusOK, "text/javascript; charset=utf-8", "export class Settings"},
		{"/app.css", http.StatusOK, "text/css; charset=utf-8", ".msg"},
		{"/missing.js", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status: got %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status != http.StatusOK {
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
			if got := res.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") {
				t.Errorf("Content-Security-Policy: got %q, want script-src 'self'", got)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
		})
	}
}

func TestHandlerRejectsWrites(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	res, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: got %d, want %d", res.StatusCode, http.StatusMethodNotAllowed)
	}
}
