// Package httpapi serves Switchboard's stateless HTTP API: accounts,
// groups, conversations, history, discovery and health. Any node answers any
// call.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

// Deps are what the API needs; nil handlers leave their routes out.
type Deps struct {
	Service   *chat.Service
	WebSocket http.Handler // /v1/ws
	Events    EventStream  // /v1/events (Server-Sent Events)
	Push      *PushDeps    // /v1/push/...; nil leaves Web Push off
	Web       http.Handler // / (the browser client)
	Media     http.Handler // /v1/media and /v1/media/{id}
	// Discover returns the node a client should use (and others to try if
	// it cannot be reached); r is the request asking.
	Discover func(r *http.Request) (wire.DiscoverResponse, error)
	// Ready reports whether the node can serve (store and bus reachable).
	Ready func(ctx context.Context) error
	// TrustedProxies are the peers whose X-Real-IP / X-Forwarded-For name
	// the client (the balancer in front of the nodes).
	TrustedProxies []netip.Prefix
	// TransferIdle is how long a media upload or download may stall; while
	// its bytes move it outlives the server's read and write timeouts (see
	// Transfer). Zero leaves media under the server's timeouts.
	TransferIdle time.Duration
	Logger       *slog.Logger
	// Nodes lists the cluster's nodes with their connections, for the
	// admin stats; nil shows none.
	Nodes func(ctx context.Context) ([]wire.NodeStats, error)
	// MediaBytes opens an upload's bytes for an account export; nil leaves
	// the bytes out (the manifest still lists the uploads).
	MediaBytes func(ctx context.Context, id string) (io.ReadCloser, error)
}

// NewServer returns the HTTP handler of a node.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	// Every request knows its client's address: the rules brake abuse by it.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(chat.WithPeer(r.Context(), httpjson.ClientAddr(r, d.TrustedProxies))))
	})
}

type ctxKey struct{}

// SessionFrom returns the session of an authenticated request.
func SessionFrom(ctx context.Context) chat.Session {
	s, _ := ctx.Value(ctxKey{}).(chat.Session)
	return s
}

func requireAuth(svc *chat.Service, log *slog.Logger, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := svc.Authenticate(r.Context(), httpjson.BearerToken(r))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			httpjson.Error(w, r, log, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}

// pathAction answers 204 once f has acted, as the caller, on the thing the
// path's param names: the shape of every call that changes one named thing
// and answers nothing.
func pathAction(log *slog.Logger, param string, f func(context.Context, chat.Session, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(r.Context(), SessionFrom(r.Context()), r.PathValue(param)); err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
