package storetest

import (
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// testNotifications: settings round-trip per (conversation, user), are
// replaced, and members without one are left out.
func testNotifications(t *testing.T, f *fixture) {
	ns, ok := f.s.(chat.NotificationStore)
	if !ok {
		t.Fatalf("%T does not implement chat.NotificationStore", f.s)
	}
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "team", alice, bob, carol)
	other := f.group(t, "other", alice)
	set := func(conv string, u chat.User, s chat.NotificationSetting) {
		t.Helper()
		if err := ns.SetNotification(f.ctx, conv, u.ID, s); err != nil {
			t.Fatalf("SetNotification: %v", err)
		}
	}
	set(g.ID, alice, chat.NotificationSetting{Level: chat.LevelNone})
	set(g.ID, alice, chat.NotificationSetting{Level: chat.LevelMentions, MutedUntil: 42})
	set(g.ID, bob, chat.NotificationSetting{Level: chat.LevelAll, MutedUntil: 7})
	set(other.ID, alice, chat.NotificationSetting{Level: chat.LevelNone})
	got, err := ns.Notifications(f.ctx, g.ID, []string{alice.ID, bob.ID, carol.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]chat.NotificationSetting{
		alice.ID: {Level: chat.LevelMentions, MutedUntil: 42},
		bob.ID:   {Level: chat.LevelAll, MutedUntil: 7},
	}
	if len(got) != len(want) || got[alice.ID] != want[alice.ID] || got[bob.ID] != want[bob.ID] {
		t.Errorf("Notifications = %+v; want %+v", got, want)
	}
	if got, err := ns.Notifications(f.ctx, g.ID, nil); err != nil || len(got) != 0 {
		t.Errorf("Notifications(no users) = %v, %v; want empty", got, err)
	}
}
