package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

func handleSignup(svc *chat.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req wire.SignupRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		u, err := svc.Signup(r.Context(), req.Username, req.Password, req.DisplayName)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, wire.UserResponse{User: encode.User(u)})
	})
}

func handleLogin(svc *chat.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req wire.LoginRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		token, sess, u, err := svc.Login(r.Context(), req.Username, req.Password)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, wire.LoginResponse{Token: token, User: encode.User(u), ExpiresAt: sess.ExpiresAt})
	})
}

func handleLogout(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := svc.Logout(r.Context(), SessionFrom(r.Context())); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func handleProfile(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, u, err := svc.Profile(r.Context(), SessionFrom(r.Context()).UserID, r.PathValue("username"))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		out := encode.User(u)
		out.Online, out.LastSeen = &p.Online, &p.LastSeen
		httpjson.Write(w, http.StatusOK, wire.UserResponse{User: out})
	}
}
