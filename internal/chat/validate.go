package chat

import (
	"strings"
	"unicode/utf8"
)

// Default limits of the wire contract (DESIGN.md section 4).
const (
	DefaultMaxText     = 4096
	MaxClientMsgID     = 64
	MaxDisplayName     = 64
	MinPasswordLen     = 8
	MaxPasswordLen     = 256
	MaxGroupTitle      = 128
	MaxHistoryLimit    = 200
	DefaultHistoryPage = 50
	MaxSyncPerConv     = 1000
)

// NormalizeName lowercases a username or group name and checks it: 3 to 32
// characters of a-z, 0-9, '_', '.', '-'.
func NormalizeName(kind, s string) (string, error) {
	n := strings.ToLower(s)
	if len(n) < 3 || len(n) > 32 {
		return "", Errorf(EBadRequest, "%s must be 3 to 32 characters", kind)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", Errorf(EBadRequest, "%s may hold only a-z, 0-9, '_', '.' and '-'", kind)
		}
	}
	return n, nil
}

// checkText checks that s is valid UTF-8 of at most max bytes; over the
// limit it fails with code.
func checkText(code, field, s string, max int) error {
	if len(s) > max {
		return Errorf(code, "%s is %d bytes; the limit is %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return Errorf(EBadRequest, "%s is not valid UTF-8", field)
	}
	return nil
}
