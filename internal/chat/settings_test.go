package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func login(t *testing.T, c *core, name string) chat.Session {
	t.Helper()
	_, s, _, err := c.svc.Login(context.Background(), name, "a long password")
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return s
}

// revoked reports whether a revoke event for the session was delivered.
func revoked(c *core, id string) bool {
	_, ok := c.got.find(func(ev chat.Event) bool { return ev.Kind == chat.EventRevoke && ev.SessionID == id })
	return ok
}

func TestChangePasswordRevokesOtherSessions(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	c.user(t, "amy", false)
	keep, other1, other2 := login(t, c, "amy"), login(t, c, "amy"), login(t, c, "amy")

	tests := []struct {
		name, current, next, code string
	}{
		{"wrong current password", "not it at all", "another long password", chat.EForbidden},
		{"new password too short", "a long password", "short", chat.EBadRequest},
		{"new password only spaces", "a long password", "            ", chat.EBadRequest},
	}
	for _, tt := range tests {
		wantCode(t, c.svc.ChangePassword(ctx, keep, tt.current, tt.next), tt.code)
	}
	if ss, err := c.svc.Sessions(ctx, keep); err != nil || len(ss) != 3 {
		t.Fatalf("sessions after refused changes = %d, %v; want 3", len(ss), err)
	}
	if err := c.svc.ChangePassword(ctx, keep, "a long password", "another long password"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []chat.Session{other1, other2} {
		c.got.wait(t, "revoke of "+s.ID, func(ev chat.Event) bool { return ev.Kind == chat.EventRevoke && ev.SessionID == s.ID })
	}
	if revoked(c, keep.ID) {
		t.Errorf("the session that changed the password was revoked")
	}
	if ss, err := c.svc.Sessions(ctx, keep); err != nil || len(ss) != 1 || ss[0].ID != keep.ID {
		t.Fatalf("sessions after the change = %+v, %v", ss, err)
	}
	_, _, _, err := c.svc.Login(ctx, "amy", "a long password")
	wantCode(t, err, chat.EUnauthorized)
}

func TestAdminRulesNeedTheRole(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	c.user(t, "ben", false)
	c.user(t, "root", false)
	ben, root := login(t, c, "ben"), login(t, c, "root")
	calls := map[string]func(s chat.Session) error{
		"SearchUsers":        func(s chat.Session) error { _, err := c.svc.SearchUsers(ctx, s, "", "", 0); return err },
		"Suspend":            func(s chat.Session) error { _, err := c.svc.Suspend(ctx, s, "ben", false); return err },
		"ForceLogout":        func(s chat.Session) error { _, err := c.svc.ForceLogout(ctx, s, "nobody"); return err },
		"AdminDeleteMessage": func(s chat.Session) error { _, err := c.svc.AdminDeleteMessage(ctx, s, "x", 1, ""); return err },
		"AdminDeleteGroup":   func(s chat.Session) error { return c.svc.AdminDeleteGroup(ctx, s, "nogroup") },
		"Stats":              func(s chat.Session) error { _, err := c.svc.Stats(ctx, s); return err },
		"AuditLog":           func(s chat.Session) error { _, err := c.svc.AuditLog(ctx, s, "", 0); return err },
	}
	for name, call := range calls {
		if err := call(ben); chat.ErrorCode(err) != chat.EForbidden {
			t.Errorf("%s as a non-admin: %v; want forbidden", name, err)
		}
	}
	if err := chat.GrantAdmin(ctx, c.store, "root", true, "01JAUDIT", 1); err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		if err := call(root); chat.ErrorCode(err) == chat.EForbidden {
			t.Errorf("%s as an admin: %v", name, err)
		}
	}
	// Limits of the listing calls.
	for _, limit := range []int{-1, chat.MaxUserPage + 1} {
		_, err := c.svc.SearchUsers(ctx, root, "", "", limit)
		wantCode(t, err, chat.EBadRequest)
	}
	if _, err := c.svc.SearchUsers(ctx, root, "", "", chat.MaxUserPage); err != nil {
		t.Errorf("SearchUsers at the page limit: %v", err)
	}
	for _, limit := range []int{-1, chat.MaxAuditPage + 1} {
		_, err := c.svc.AuditLog(ctx, root, "", limit)
		wantCode(t, err, chat.EBadRequest)
	}
	_, err := c.svc.SearchUsers(ctx, root, strings.Repeat("q", chat.MaxDisplayName+1), "", 0)
	wantCode(t, err, chat.EBadRequest)
	_, err = c.svc.AdminDeleteMessage(ctx, root, "x", 1, strings.Repeat("r", chat.MaxReason+1))
	wantCode(t, err, chat.EBadRequest)
	_, err = c.svc.AdminDeleteMessage(ctx, root, "x", 1, strings.Repeat("r", chat.MaxReason))
	wantCode(t, err, chat.ENotFound) // within the limit: the message is looked for
	_, err = c.svc.AdminDeleteMessage(ctx, root, "x", 0, "")
	wantCode(t, err, chat.EBadRequest)
	wantCode(t, chat.GrantAdmin(ctx, c.store, "nobody", true, "01JAUDIT2", 2), chat.ENotFound)
}

func TestSuspendedUserCannotLogIn(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	c.user(t, "cyd", false)
	c.user(t, "root", false)
	if err := chat.GrantAdmin(ctx, c.store, "root", true, "01JAUDIT", 1); err != nil {
		t.Fatal(err)
	}
	root, cy := login(t, c, "root"), login(t, c, "cyd")
	if _, err := c.svc.Suspend(ctx, root, "cyd", true); err != nil {
		t.Fatal(err)
	}
	c.got.wait(t, "revoke", func(ev chat.Event) bool { return ev.Kind == chat.EventRevoke && ev.SessionID == cy.ID })
	_, _, _, err := c.svc.Login(ctx, "cyd", "a long password")
	wantCode(t, err, chat.EForbidden)
	_, _, _, err = c.svc.Login(ctx, "cyd", "a wrong password")
	wantCode(t, err, chat.EUnauthorized) // a wrong password says nothing of the suspension
	if _, err := c.svc.Suspend(ctx, root, "cyd", false); err != nil {
		t.Fatal(err)
	}
	login(t, c, "cyd")
}

// TestDeleteAccountHandsOverGroups: a departing owner's groups go to an
// admin, else another member; a group it was alone in goes with it.
func TestDeleteAccountHandsOverGroups(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice, bob, carol := c.user(t, "alice", false), c.user(t, "bob", false), c.user(t, "carol", false)
	team, err := c.svc.CreateGroup(ctx, c.session(alice), "team", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []chat.ConnInfo{bob, carol} {
		if _, err := c.svc.JoinGroup(ctx, c.session(u), "team"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.svc.SetRole(ctx, c.session(alice), "team", "carol", chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	club, err := c.svc.CreateGroup(ctx, c.session(alice), "club", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.JoinGroup(ctx, c.session(bob), "club"); err != nil {
		t.Fatal(err)
	}
	solo, err := c.svc.CreateGroup(ctx, c.session(alice), "solo", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.svc.DeleteAccount(ctx, c.session(alice), "a long password"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		conv, who, role string
		user            chat.ConnInfo
	}{
		{team.ID, "carol, the admin", chat.RoleOwner, carol},
		{team.ID, "bob", chat.RoleMember, bob},
		{club.ID, "bob, the only other member", chat.RoleOwner, bob},
	} {
		st, err := c.store.ConversationState(ctx, tc.conv, tc.user.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Role != tc.role {
			t.Errorf("%s in %s: role %q, want %q", tc.who, st.Name, st.Role, tc.role)
		}
	}
	if _, err := c.store.Conversation(ctx, solo.ID); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("the group alice was alone in: %v; want it gone", err)
	}
}
