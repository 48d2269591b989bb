package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

// PushDeps turn on the Web Push routes.
type PushDeps struct {
	PublicKey string // VAPID, base64url
	AllowHTTP bool   // accept http:// endpoints (a push service on a test network)
}

func handlePushKey(key string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, wire.PushKeyResponse{PublicKey: key})
	}
}

func handleSubscribe(svc *chat.Service, log *slog.Logger, allowHTTP bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.PushSubscription
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		sub := chat.PushSubscription{Endpoint: req.Endpoint, P256dh: req.Keys.P256dh, Auth: req.Keys.Auth, Device: req.Device}
		if err := svc.Subscribe(r.Context(), SessionFrom(r.Context()), sub, allowHTTP); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, wire.PushSubscribed{Endpoint: sub.Endpoint, Device: sub.Device})
	}
}

func handleUnsubscribe(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.PushUnsubscribe
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		if err := svc.Unsubscribe(r.Context(), SessionFrom(r.Context()), req.Endpoint); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func handleSetNotification(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req wire.NotificationSetting
		if err := httpjson.Decode(w, r, &req); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		ns, err := svc.SetNotification(r.Context(), SessionFrom(r.Context()), r.PathValue("id"),
			chat.NotificationSetting{Level: req.Level, MutedUntil: req.MutedUntil})
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.NotificationSetting{Level: ns.Level, MutedUntil: ns.MutedUntil})
	}
}

func handleNotification(svc *chat.Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, err := svc.Notification(r.Context(), SessionFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, wire.NotificationSetting{Level: ns.Level, MutedUntil: ns.MutedUntil})
	}
}
