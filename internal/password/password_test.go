package password_test

import (
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/password"
)

func TestHashVerify(t *testing.T) {
	h := password.Argon2id{MemoryKiB: 64, Time: 1}
	hash, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q lacks its parameters", hash)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsf", false}, {"", false}} {
		// A verifier with other parameters must still read them from the hash.
		got, err := password.Default.Verify(hash, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
	other, _ := h.Hash("correct horse")
	if other == hash {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=x$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, err := password.Default.Verify(bad, "pw"); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
}
