package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

func handleCreateGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.GroupRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		c, err := svc.CreateGroup(r.Context(), SessionFrom(r.Context()), req.Name, req.Title)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, wire.ConversationResponse{Conversation: encode.Conversation(c)})
	}
}

func handleJoinGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The body is {} (join yourself); an empty body is accepted too.
		if r.ContentLength != 0 {
			var req struct{}
			if err := httpjson.Decode(w, r, &req); err != nil {
				httpjson.Error(w, r, log, err)
				return
			}
		}
		c, err := svc.JoinGroup(r.Context(), SessionFrom(r.Context()), r.PathValue("name"))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.ConversationResponse{Conversation: encode.Conversation(c)})
	}
}

func handleLeaveGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := svc.LeaveGroup(r.Context(), SessionFrom(r.Context()), r.PathValue("name")); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func handleMembers(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := SessionFrom(r.Context())
		var ms []chat.MemberState
		var err error
		if id := r.PathValue("id"); id != "" {
			ms, err = svc.ConversationMembers(r.Context(), sess, id)
		} else {
			ms, err = svc.GroupMembers(r.Context(), sess, r.PathValue("name"))
		}
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		out := make([]wire.Member, len(ms))
		for i, m := range ms {
			out[i] = wire.Member{Username: m.Username, Online: m.Online, DeliveredSeq: m.DeliveredSeq, ReadSeq: m.ReadSeq}
		}
		httpjson.Write(w, http.StatusOK, wire.MembersResponse{Members: out})
	}
}
