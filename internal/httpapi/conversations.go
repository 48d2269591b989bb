package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

func handleConversations(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cs, err := svc.Conversations(r.Context(), SessionFrom(r.Context()))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.ConversationsResponse{Conversations: encode.Conversations(cs)})
	}
}

func handleHistory(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var q chat.HistoryQuery
		// A given after, 0 included, pages forward from it; only with
		// neither after nor before is the answer the newest page.
		_, q.Forward = r.URL.Query()["after"]
		if _, before := r.URL.Query()["before"]; before && q.Forward {
			httpjson.Error(w, r, log, chat.Errorf(chat.EBadRequest, "give before or after, not both"))
			return
		}
		for _, p := range []struct {
			name string
			dst  *int64
		}{{"before", &q.Before}, {"after", &q.After}} {
			if v, ok := r.URL.Query()[p.name]; ok {
				n, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil {
					httpjson.Error(w, r, log, chat.Errorf(chat.EBadRequest, "%s must be a whole number", p.name))
					return
				}
				*p.dst = n
			}
		}
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				httpjson.Error(w, r, log, chat.Errorf(chat.EBadRequest, "limit must be a whole number from 1 to %d", chat.MaxHistoryLimit))
				return
			}
			q.Limit = n
		}
		ms, err := svc.History(r.Context(), SessionFrom(r.Context()), r.PathValue("id"), q)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.MessagesResponse{Messages: encode.Messages(ms)})
	}
}
