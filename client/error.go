package client

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/segmentio/encoding/json"

	"github.com/switchboard-chat/switchboard/wire"
)

// Error is an error the server answered with: an HTTP error body or a
// WebSocket error frame. Status is the HTTP status, or 0 for an error frame.
// Code is one of the wire contract's codes (bad_request, unauthorized,
// forbidden, not_found, conflict, too_large, rate_limited, unavailable,
// internal).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("switchboard: %s: %s (HTTP %d)", e.Code, e.Message, e.Status)
	}
	return fmt.Sprintf("switchboard: %s: %s", e.Code, e.Message)
}

// ErrorCode returns the Code of the first *Error in err's chain, or "" when
// there is none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// CloseError is the reason the server gave when it closed a WebSocket, for
// example a full outbound queue or a draining node.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("switchboard: connection closed by server: code %d: %s", e.Code, e.Reason)
}

// ErrClosed is what Conn.Err returns, and what pending calls fail with,
// after Conn.Close.
var ErrClosed = errors.New("switchboard: connection closed by client")

// ErrEventOverflow is what Conn.Err returns when more pushed frames were
// waiting unread on Conn.Events than the MaxQueuedEvents limit allows.
var ErrEventOverflow = errors.New("switchboard: connection closed: too many unread events")

// statusCodes maps HTTP statuses to wire codes for error answers whose body
// is not a wire.ErrorBody (a proxy's 502, say).
var statusCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusServiceUnavailable:    "unavailable",
}

func codeForStatus(status int) string {
	if c, ok := statusCodes[status]; ok {
		return c
	}
	return "internal"
}

// responseError builds the *Error for a non-2xx response, reading at most
// 64 KiB of its body.
func responseError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb wire.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		return &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Status: resp.StatusCode, Code: codeForStatus(resp.StatusCode), Message: msg}
}
