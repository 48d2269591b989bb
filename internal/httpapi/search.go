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

func handleSearch(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q := chat.SearchQuery{Text: v.Get("q"), Conversation: v.Get("conversation"), Before: v.Get("before")}
		if l := v.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 {
				httpjson.Error(w, r, log, chat.Errorf(chat.EBadRequest, "limit must be a whole number from 1 to %d", chat.MaxSearchLimit))
				return
			}
			q.Limit = n
		}
		ms, err := svc.Search(r.Context(), SessionFrom(r.Context()), q)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		out := wire.SearchResponse{Results: make([]wire.SearchResult, len(ms))}
		for i, m := range ms {
			out.Results[i] = wire.SearchResult{Message: encode.Message(m)}
		}
		httpjson.Write(w, http.StatusOK, out)
	}
}
