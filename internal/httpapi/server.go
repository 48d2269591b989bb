// Package httpapi serves Switchboard's stateless HTTP API: accounts,
// groups, conversations, history, discovery and health. Any node answers any
// call.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/wire"
)

// maxBody is the largest JSON body accepted.
const maxBody = 64 << 10

// Deps are what the API needs; nil handlers leave their routes out.
type Deps struct {
	Service   *chat.Service
	WebSocket http.Handler // /v1/ws
	Web       http.Handler // / (the browser client)
	Media     http.Handler // /v1/media and /v1/media/{id}
	// Discover returns the node a client should use (and others to try if
	// it cannot be reached); r is the request asking.
	Discover func(r *http.Request) (wire.DiscoverResponse, error)
	// Ready reports whether the node can serve (store and bus reachable).
	Ready func(ctx context.Context) error
	// TransferIdle is how long a media upload or download may stall; while
	// its bytes move it outlives the server's read and write timeouts (see
	// Transfer). Zero leaves media under the server's timeouts.
	TransferIdle time.Duration
	Logger       *slog.Logger
}

// NewServer returns the HTTP handler of a node.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	return mux
}

// statusOf maps error codes to HTTP statuses: one table for the whole API.
var statusOf = map[string]int{
	chat.EBadRequest:   http.StatusBadRequest,
	chat.EUnauthorized: http.StatusUnauthorized,
	chat.EForbidden:    http.StatusForbidden,
	chat.ENotFound:     http.StatusNotFound,
	chat.EConflict:     http.StatusConflict,
	chat.ETooLarge:     http.StatusRequestEntityTooLarge,
	chat.ERateLimited:  http.StatusTooManyRequests,
	chat.EUnavailable:  http.StatusServiceUnavailable,
	chat.EInternal:     http.StatusInternalServerError,
}

// Error writes err as the API's JSON error body with its status. Internal
// details are logged, never sent.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := chat.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == chat.EInternal {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body wire.ErrorBody
	body.Error.Code = code
	body.Error.Message = chat.ErrorMessage(err)
	WriteJSON(w, status, body)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body of at most maxBody bytes into v.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return chat.Errorf(chat.ETooLarge, "body is over %d bytes", maxBody)
		}
		return BodyError(err)
	}
	if !utf8.Valid(b) {
		return chat.Errorf(chat.EBadRequest, "body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return chat.Errorf(chat.EBadRequest, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return chat.Errorf(chat.EBadRequest, "malformed JSON body: trailing data")
	}
	return nil
}

// BodyError describes a failed read of a request body without the
// network error's text, which names the server's and the client's socket
// addresses.
func BodyError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return chat.Errorf(chat.EBadRequest, "the request body stalled past the read timeout")
	}
	return chat.Errorf(chat.EBadRequest, "the request body was cut off")
}

type ctxKey struct{}

// SessionFrom returns the session of an authenticated request.
func SessionFrom(ctx context.Context) chat.Session {
	s, _ := ctx.Value(ctxKey{}).(chat.Session)
	return s
}

// BearerToken returns the request's bearer token, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func requireAuth(svc *chat.Service, log *slog.Logger, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := svc.Authenticate(r.Context(), BearerToken(r))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			Error(w, r, log, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}
