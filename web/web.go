// Package web is Switchboard's browser client: static HTML, CSS and
// JavaScript modules embedded in the binary and served at "/" by every node.
// The client speaks only the public wire contract (HTTP /v1/... and the
// WebSocket /v1/ws), so it needs no server-side rendering and no build step.
//
// The modules in static/:
//
//	app.js     sign-in screen and page wiring
//	chat.js    one user's state: conversations, cursors, outbox, receipts, presence
//	view.js    rendering of that state (text goes in through textContent only)
//	socket.js  the WebSocket link: auth, acks, heartbeats, reconnect with backoff
//	api.js     the HTTP calls
//	settings.js  the settings dialog: profile, avatar, password, sessions, export, deletion
//	notify.js  notifications: the opt-in button, the push subscription, the per-conversation bell
//	sw.js      the service worker: shows pushes, opens their conversation on click
//	util.js    small shared helpers
//
// browser_test.go drives the client in headless Chromium against a real
// switchboard process.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy lets the page load only its own scripts and styles
// and talk only to its own origin (Chromium treats same-host ws: and wss:
// as 'self'). Even a bug that put user text into markup could not run it.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the client's files: index.html at "/", the rest by name,
// with content types from their extensions. Files are revalidated on each
// load (Cache-Control: no-cache) so a node upgrade reaches open browsers on
// their next reload.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The directory is embedded above; failing is a programming error.
		panic("web: " + err.Error())
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		files.ServeHTTP(w, r)
	})
}
