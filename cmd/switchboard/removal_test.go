package main

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// removalStopsDelivery: an admin on the first node removes (or bans) a
// member connected to the second; once the member's connection is told, it
// receives nothing more of the group, even from a sender on the third node
// who sends at once, and a sync gives it nothing more either.
func removalStopsDelivery(t *testing.T, servers []*testServer, how string) {
	at := func(i int) *testServer { return servers[i%len(servers)] }
	admin := user(t, at(0), "rm-admin-"+how)
	victim := user(t, at(1), "rm-victim-"+how)
	sender := user(t, at(2), "rm-sender-"+how)
	name := "removal-" + how
	g, err := admin.CreateGroupWith(ctxT(t), wire.GroupRequest{Name: name, Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"rm-victim-" + how, "rm-sender-" + how} {
		if _, err := admin.AddMember(ctxT(t), name, u); err != nil {
			t.Fatal(err)
		}
	}
	vc := dial(t, victim, "web")
	sc := dial(t, sender, "web")
	// Every node has the group's members cached before the removal.
	for i := range 3 {
		if _, err := sc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprintf("before %d", i)}); err != nil {
			t.Fatal(err)
		}
		if m := nextMessage(t, vc); m.Text != fmt.Sprintf("before %d", i) {
			t.Fatalf("victim got %+v", m)
		}
	}
	if how == "ban" {
		err = admin.Ban(ctxT(t), name, "rm-victim-"+how)
	} else {
		err = admin.RemoveMember(ctxT(t), name, "rm-victim-"+how)
	}
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, vc, wire.TypeMember)
	want := map[string]string{"ban": "banned", "remove": "removed"}[how]
	if ev.Event != want || ev.UserName != "rm-victim-"+how || ev.By != "rm-admin-"+how || ev.Conversation != g.ID {
		t.Fatalf("member frame %+v; want %s by the admin", ev, want)
	}
	for i := range 5 {
		if _, err := sc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprintf("after %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	quiet(t, vc, wire.TypeMessage)
	convs, err := vc.Sync(ctxT(t), map[string]int64{g.ID: 0})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := convByID(convs, g.ID); ok {
		t.Fatal("sync still lists the group")
	}
	quiet(t, vc, wire.TypeMessage)
	_, err = vc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: "let me in"})
	wantCode(t, err, "not_found")
	if how == "ban" {
		// Private and banned: the group does not exist for the victim.
		_, err = victim.JoinGroup(ctxT(t), name)
		wantCode(t, err, "not_found")
	}
}

func TestRemovedMemberStopsReceiving(t *testing.T) {
	s := startServer(t)
	for _, how := range []string{"remove", "ban"} {
		t.Run(how, func(t *testing.T) { removalStopsDelivery(t, []*testServer{s}, how) })
	}
}
