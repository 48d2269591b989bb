package chat

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are part of the wire contract: append new ones, never
// rename or reuse one.
const (
	EBadRequest   = "bad_request"
	EUnauthorized = "unauthorized"
	EForbidden    = "forbidden"
	ENotFound     = "not_found"
	EConflict     = "conflict"
	ETooLarge     = "too_large"
	ERateLimited  = "rate_limited"
	EUnavailable  = "unavailable"
	EInternal     = "internal"
)

// Error is the one error type the core hands to adapters and clients. Its
// Message is safe to show to a user; internal details are logged, not sent.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set on a rate_limited or unavailable error, is when
	// the same request may succeed (HTTP's Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err: the Message of an
// *Error, or a generic text for anything else so internals never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns the RetryAfter of the first *Error in err's chain.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
