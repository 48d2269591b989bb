package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

// EventStream serves an authenticated GET /v1/events (the gateway's
// ServeEvents).
type EventStream func(w http.ResponseWriter, r *http.Request, sess chat.Session)

func handleEventTicket(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ticket, ttl, err := svc.IssueTicket(r.Context(), SessionFrom(r.Context()))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpjson.Write(w, http.StatusCreated, wire.TicketResponse{Ticket: ticket, ExpiresIn: int(ttl.Seconds())})
	}
}

// handleEvents authenticates an event stream by a single-use ticket
// (?ticket=, for EventSource, which cannot set headers) or by the bearer
// token in the Authorization header; never by a token in the URL.
func handleEvents(svc *chat.Service, log *slog.Logger, serve EventStream) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess chat.Session
		var err error
		if ticket := r.URL.Query().Get("ticket"); ticket != "" {
			sess, err = svc.RedeemTicket(r.Context(), ticket)
		} else {
			sess, err = svc.Authenticate(r.Context(), httpjson.BearerToken(r))
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			httpjson.Error(w, r, log, err)
			return
		}
		serve(w, r, sess)
	})
}
