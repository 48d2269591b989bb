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

func handleCreateGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.GroupRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		gs := chat.GroupSettings{Title: &req.Title, Description: &req.Description}
		if req.Visibility != "" {
			gs.Visibility = &req.Visibility
		}
		if req.History != "" {
			gs.History = &req.History
		}
		c, err := svc.CreateGroup(r.Context(), SessionFrom(r.Context()), req.Name, gs)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, wire.ConversationResponse{Conversation: encode.Conversation(c)})
	}
}

func handleEditGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.GroupPatch
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		gs := chat.GroupSettings{Title: req.Title, Description: req.Description, Visibility: req.Visibility, History: req.History}
		c, err := svc.EditGroup(r.Context(), SessionFrom(r.Context()), r.PathValue("name"), gs)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.ConversationResponse{Conversation: encode.Conversation(c)})
	}
}

func handleDeleteGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return pathAction(log, "name", svc.DeleteGroup)
}

func handleSearchGroups(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit := 0
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				httpjson.Error(w, r, log, chat.Errorf(chat.EBadRequest, "limit must be a whole number from 1 to %d", chat.MaxGroupResults))
				return
			}
			limit = n
		}
		gs, err := svc.SearchGroups(r.Context(), r.URL.Query().Get("q"), limit)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.GroupsResponse{Groups: encode.Conversations(gs)})
	}
}

// handleJoinGroup answers POST /v1/groups/{name}/members: {} (or no body)
// joins the caller, {"username"} adds that user.
func handleJoinGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.AddMemberRequest
		if r.ContentLength != 0 {
			if err := httpjson.Decode(w, r, &req); err != nil {
				httpjson.Error(w, r, log, err)
				return
			}
		}
		sess := SessionFrom(r.Context())
		var c chat.ConversationState
		var err error
		if req.Username == "" {
			c, err = svc.JoinGroup(r.Context(), sess, r.PathValue("name"))
		} else {
			c, err = svc.AddToGroup(r.Context(), sess, r.PathValue("name"), req.Username)
		}
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.ConversationResponse{Conversation: encode.Conversation(c)})
	}
}

// handleRemoveMember answers DELETE /v1/groups/{name}/members/{username};
// "me" (or one's own name) leaves.
func handleRemoveMember(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := svc.RemoveFromGroup(r.Context(), SessionFrom(r.Context()), r.PathValue("name"), r.PathValue("username")); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func handleSetRole(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.RoleRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		c, err := svc.SetRole(r.Context(), SessionFrom(r.Context()), r.PathValue("name"), r.PathValue("username"), req.Role)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.ConversationResponse{Conversation: encode.Conversation(c)})
	}
}

func handleBan(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.BanRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		if req.Username == "" {
			httpjson.Error(w, r, log, chat.Errorf(chat.EBadRequest, "username is required"))
			return
		}
		if err := svc.BanFromGroup(r.Context(), SessionFrom(r.Context()), r.PathValue("name"), req.Username); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func handleUnban(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := svc.UnbanFromGroup(r.Context(), SessionFrom(r.Context()), r.PathValue("name"), r.PathValue("username")); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func handleBans(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		bs, err := svc.GroupBans(r.Context(), SessionFrom(r.Context()), r.PathValue("name"))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		out := make([]wire.Ban, len(bs))
		for i, b := range bs {
			out[i] = wire.Ban{Username: b.Username, BannedAt: b.CreatedAt}
		}
		httpjson.Write(w, http.StatusOK, wire.BansResponse{Bans: out})
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
			out[i] = wire.Member{Username: m.Username, Online: m.Online, DeliveredSeq: m.DeliveredSeq, ReadSeq: m.ReadSeq, Role: m.Role}
		}
		httpjson.Write(w, http.StatusOK, wire.MembersResponse{Members: out})
	}
}
