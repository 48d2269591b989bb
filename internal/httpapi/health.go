package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

func handleHealth() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func handleReady(ready func(context.Context) error, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := ready(ctx); err != nil {
				httpjson.Error(w, r, log, chat.Errorf(chat.EUnavailable, "not ready: %s", chat.ErrorMessage(err)))
				return
			}
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

func handleDiscover(discover func(*http.Request) (wire.DiscoverResponse, error), log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if discover == nil {
			httpjson.Error(w, r, log, chat.Errorf(chat.EUnavailable, "discovery is not configured"))
			return
		}
		d, err := discover(r)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, d)
	}
}

func handleNotFound(log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, r, log, chat.Errorf(chat.ENotFound, "no route %s %s", r.Method, r.URL.Path))
	}
}
