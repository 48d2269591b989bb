// Package httpjson holds the conventions every Switchboard HTTP endpoint
// shares, whichever package serves it: JSON bodies in and out, the error
// body with one table from error code to status, and bearer tokens.
package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/wire"
)

// MaxBody is the largest JSON body Decode accepts.
const MaxBody = 64 << 10

// statusOf maps error codes to HTTP statuses: one table for every endpoint.
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

// Status returns the HTTP status of an error code.
func Status(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error writes err as the JSON error body with its status. Internal
// details are logged, never sent.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := chat.ErrorCode(err)
	if code == chat.EInternal {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if d := chat.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	var body wire.ErrorBody
	body.Error.Code = code
	body.Error.Message = chat.ErrorMessage(err)
	Write(w, Status(code), body)
}

// Write writes v as JSON with the given status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Decode reads a JSON body of at most MaxBody bytes into v; unknown fields,
// invalid UTF-8 and trailing data are bad requests.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return chat.Errorf(chat.ETooLarge, "body is over %d bytes", MaxBody)
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

// BearerToken returns the request's bearer token, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
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
