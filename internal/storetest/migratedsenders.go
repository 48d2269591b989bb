package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// CheckMigratedSenders checks a store opened on Schema40Rows after the
// migrations (run after CheckMigratedSearch, which appends m4 from u2):
// each user's messages from before the migration are found through the
// conversations it sent into (conversation_senders, filled by the
// migration), and a new one too.
func CheckMigratedSenders(t *testing.T, s chat.Store) {
	t.Helper()
	ctx := context.Background()
	as, ok := s.(chat.AccountStore)
	if !ok {
		t.Fatalf("%T does not implement chat.AccountStore", s)
	}
	for user, want := range map[string]string{"u1": "[m1 m2]", "u2": "[m3 m4]"} {
		ms, err := as.SentMessages(ctx, user, chat.SentCursor{}, 10)
		if err != nil {
			t.Fatalf("SentMessages(%s): %v", user, err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.ID)
		}
		if fmt.Sprint(got) != want {
			t.Errorf("SentMessages(%s) after the migration = %v; want %s", user, got, want)
		}
	}
}
