package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

// requireAdmin lets through authenticated requests of admins; anyone else
// gets 403 forbidden (401 without a valid token).
func requireAdmin(svc *chat.Service, log *slog.Logger, next http.HandlerFunc) http.Handler {
	return requireAuth(svc, log, func(w http.ResponseWriter, r *http.Request) {
		if _, err := svc.RequireAdmin(r.Context(), SessionFrom(r.Context())); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		next(w, r)
	})
}

// intParam reads an optional integer query parameter.
func intParam(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, chat.Errorf(chat.EBadRequest, "%s must be a number", name)
	}
	return n, nil
}

func handleAdminUsers(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit")
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		q := r.URL.Query()
		us, err := svc.SearchUsers(r.Context(), SessionFrom(r.Context()), q.Get("q"), q.Get("after"), limit)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		out := make([]wire.User, len(us))
		for i, u := range us {
			out[i] = encode.Self(u)
		}
		httpjson.Write(w, http.StatusOK, wire.UsersResponse{Users: out})
	}
}

func handleSuspend(svc *chat.Service, log *slog.Logger, suspended bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := svc.Suspend(r.Context(), SessionFrom(r.Context()), r.PathValue("username"), suspended)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.UserResponse{User: encode.Self(u)})
	}
}

func handleForceLogout(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := svc.ForceLogout(r.Context(), SessionFrom(r.Context()), r.PathValue("username"))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.LogoutResponse{SessionsEnded: n})
	}
}

func handleAdminDeleteMessage(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
		if err != nil {
			httpjson.Error(w, r, log, chat.Errorf(chat.EBadRequest, "seq must be a number"))
			return
		}
		m, err := svc.AdminDeleteMessage(r.Context(), SessionFrom(r.Context()), r.PathValue("id"), seq, r.URL.Query().Get("reason"))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.MessageResponse{Message: encode.Message(m)})
	}
}

func handleAdminDeleteGroup(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return pathAction(log, "name", svc.AdminDeleteGroup)
}

func handleStats(svc *chat.Service, nodes func(ctx context.Context) ([]wire.NodeStats, error), log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := svc.Stats(r.Context(), SessionFrom(r.Context()))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		out := wire.StatsResponse{Node: svc.NodeID(), Nodes: []wire.NodeStats{}, Users: c.Users, Conversations: c.Conversations, Messages: c.Messages}
		if nodes != nil {
			ns, err := nodes(r.Context())
			if err != nil {
				httpjson.Error(w, r, log, err)
				return
			}
			out.Nodes = ns
		}
		for _, n := range out.Nodes {
			out.Connections += n.Connections
		}
		httpjson.Write(w, http.StatusOK, out)
	}
}

func handleAudit(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit")
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		es, err := svc.AuditLog(r.Context(), SessionFrom(r.Context()), r.URL.Query().Get("before"), limit)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.AuditResponse{Entries: encode.Audit(es)})
	}
}
