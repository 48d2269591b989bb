package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

func handleMe(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := svc.User(r.Context(), SessionFrom(r.Context()).UserID)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.UserResponse{User: encode.Self(u)})
	}
}

func handleUpdateProfile(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.ProfileRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		u, err := svc.UpdateProfile(r.Context(), SessionFrom(r.Context()),
			chat.ProfileChange{DisplayName: req.DisplayName, AvatarID: req.Avatar})
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.UserResponse{User: encode.Self(u)})
	}
}

func handleChangePassword(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.PasswordRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		if err := svc.ChangePassword(r.Context(), SessionFrom(r.Context()), req.Current, req.New); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func handleSessions(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := SessionFrom(r.Context())
		ss, err := svc.Sessions(r.Context(), sess)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.SessionsResponse{Sessions: encode.Sessions(ss, sess.ID)})
	}
}

func handleRevokeSession(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return pathAction(log, "id", svc.RevokeSession)
}

func handleDeleteAccount(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.DeleteAccountRequest
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		if err := svc.DeleteAccount(r.Context(), SessionFrom(r.Context()), req.Password); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
