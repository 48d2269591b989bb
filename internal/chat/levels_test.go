package chat_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func TestMentions(t *testing.T) {
	tests := []struct {
		text, user string
		want       bool
	}{
		{"@bob hi", "bob", true},
		{"hi @Bob", "bob", true},
		{"hi @bob.", "bob", true},
		{"hi @bob, and", "bob", true},
		{"(@bob)", "bob", true},
		{"hi @bobby", "bob", false},
		{"hi @bob.smith", "bob", false},
		{"hi @bob.smith", "bob.smith", true},
		{"mail a@bob", "bob", false},
		{"bob", "bob", false},
		{"@", "bob", false},
		{"@bo", "bob", false},
		{"@alice @bob", "bob", true},
		{"ünïcode@bob", "bob", false},
	}
	for _, tt := range tests {
		if got := chat.Mentions(tt.text, tt.user); got != tt.want {
			t.Errorf("Mentions(%q, %q) = %v; want %v", tt.text, tt.user, got, tt.want)
		}
	}
}
