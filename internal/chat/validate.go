package chat

import (
	"strings"
	"unicode"
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

// NormalizeName checks a username or group name and lowercases it: 3 to 32
// characters of A-Z, a-z, 0-9, '_', '.', '-'. The check comes first, on
// the bytes as given, so no character outside ASCII can lowercase into an
// allowed one (U+212A, the Kelvin sign, lowercases to 'k').
func NormalizeName(kind, s string) (string, error) {
	if len(s) < 3 || len(s) > 32 {
		return "", Errorf(EBadRequest, "%s must be 3 to 32 characters", kind)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", Errorf(EBadRequest, "%s may hold only a-z, 0-9, '_', '.' and '-'", kind)
		}
	}
	return strings.ToLower(s), nil
}

// checkLabel checks a name people read beside others' (a display name, a
// group title): text as checkText, and none of the characters that hide
// or disguise what is shown: controls (NUL, newlines), bidirectional
// overrides and isolates, and zero-width characters.
func checkLabel(field, s string, max int) error {
	if err := checkText(EBadRequest, field, s, max); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		return Errorf(EBadRequest, "%s must not be blank", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || invisible(r) {
			return Errorf(EBadRequest, "%s must not contain control, bidirectional or invisible characters (found U+%04X)", field, r)
		}
	}
	return nil
}

// invisible reports the format characters that render as nothing.
func invisible(r rune) bool {
	switch r {
	case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u180E', '\u00AD':
		return true
	}
	return r >= '\u2061' && r <= '\u2064'
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
