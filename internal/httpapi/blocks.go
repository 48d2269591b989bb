package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

func handleBlock(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return pathAction(log, "username", svc.Block)
}

func handleUnblock(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return pathAction(log, "username", svc.Unblock)
}

func handleBlocks(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		us, err := svc.Blocks(r.Context(), SessionFrom(r.Context()))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		out := make([]wire.User, len(us))
		for i, u := range us {
			out[i] = encode.User(u)
		}
		httpjson.Write(w, http.StatusOK, wire.BlocksResponse{Blocks: out})
	}
}
