package password_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/internal/password"
)

func TestCommon(t *testing.T) {
	c := password.NewCommon(8)
	if c.Len() < 1000 {
		t.Fatalf("only %d common passwords of 8 bytes or more", c.Len())
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"password", true},
		{"PassWord", true},
		{"12345678", true},
		{"qwertyuiop", true},
		{"iloveyou", true},
		{"correct horse battery staple 42", false},
		{"Zq7!vbn#Lm2$", false},
	} {
		if got := c.Has(tc.pw); got != tc.want {
			t.Errorf("Has(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}
