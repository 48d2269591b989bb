package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// Actors of the authorization matrix, as each stands to the group under
// test.
var actors = []string{"anonymous", "loggedout", "stranger", "member", "admin", "owner", "banned", "removed"}

// matrixUsers are the accounts the matrix uses, on the nodes of servers
// (user i talks to node i mod n).
type matrixUsers struct {
	api   map[string]*client.Client
	conns map[string]*client.Conn
	n     atomic.Int64
}

func newMatrixUsers(t *testing.T, servers []*testServer) *matrixUsers {
	t.Helper()
	u := &matrixUsers{api: map[string]*client.Client{}, conns: map[string]*client.Conn{}}
	for i, name := range []string{"owner", "admin", "member", "banned", "removed", "stranger", "target", "newbie", "loggedout"} {
		s := servers[i%len(servers)]
		c := user(t, s, "mx-"+name)
		u.api[name] = c
		if name != "loggedout" && name != "target" && name != "newbie" {
			u.conns[name] = dial(t, c, "matrix")
		}
	}
	dead := u.api["loggedout"].Token()
	if err := u.api["loggedout"].Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Logout cleared the client's token: put the ended one back, on the
	// last node (in a cluster, not the one that ended it).
	u.api["loggedout"] = client.New(servers[len(servers)-1].URL, client.WithSessionToken(dead))
	u.api["anonymous"] = client.New(servers[len(servers)-1].URL)
	return u
}

// setup makes a fresh group in which every actor stands as its name says:
// owner; admin; member and target are members; banned is banned; removed was
// removed; stranger and newbie were never in it. The owner sent one message.
func (u *matrixUsers) setup(t *testing.T, visibility string) (name, convID string) {
	t.Helper()
	name = fmt.Sprintf("mx-%s-%d", visibility[:3], u.n.Add(1))
	owner := u.api["owner"]
	g, err := owner.CreateGroupWith(ctxT(t), wire.GroupRequest{Name: name, Visibility: visibility})
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"admin", "member", "target", "banned", "removed"} {
		if _, err := owner.AddMember(ctxT(t), name, "mx-"+who); err != nil {
			t.Fatalf("add %s: %v", who, err)
		}
	}
	if _, err := owner.SetRole(ctxT(t), name, "mx-admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := owner.Ban(ctxT(t), name, "mx-banned"); err != nil {
		t.Fatal(err)
	}
	if err := owner.RemoveMember(ctxT(t), name, "mx-removed"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.conns["owner"].Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: "hello " + name}); err != nil {
		t.Fatal(err)
	}
	return name, g.ID
}

// groupCall is one call of the matrix; ws calls need the actor's connection.
type groupCall struct {
	name string
	ws   bool
	do   func(ctx context.Context, c *client.Client, conn *client.Conn, group, convID string) error
	// want is the error code per actor in a public group ("" is success);
	// in a private group every non-member gets not_found instead.
	want map[string]string
}

const (
	okay = ""
	nf   = "not_found"
	fb   = "forbidden"
)

func groupCalls() []groupCall {
	nonMember := func(stranger, banned, removed string) map[string]string {
		return map[string]string{"stranger": stranger, "banned": banned, "removed": removed}
	}
	with := func(m map[string]string, member, admin, owner string) map[string]string {
		m["member"], m["admin"], m["owner"] = member, admin, owner
		return m
	}
	return []groupCall{
		{"members", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			_, err := c.Members(ctx, g)
			return err
		},
			with(nonMember(fb, fb, fb), okay, okay, okay)},
		{"join", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			_, err := c.JoinGroup(ctx, g)
			return err
		},
			with(nonMember(okay, fb, okay), okay, okay, okay)},
		{"add", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			_, err := c.AddMember(ctx, g, "mx-newbie")
			return err
		}, with(nonMember(fb, fb, fb), fb, okay, okay)},
		{"remove", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			return c.RemoveMember(ctx, g, "mx-target")
		},
			with(nonMember(fb, fb, fb), fb, okay, okay)},
		{"role", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			_, err := c.SetRole(ctx, g, "mx-target", "admin")
			return err
		}, with(nonMember(fb, fb, fb), fb, fb, okay)},
		{"ban", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			return c.Ban(ctx, g, "mx-target")
		},
			with(nonMember(fb, fb, fb), fb, okay, okay)},
		{"unban", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			return c.Unban(ctx, g, "mx-banned")
		},
			with(nonMember(fb, fb, fb), fb, okay, okay)},
		{"bans", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			_, err := c.Bans(ctx, g)
			return err
		},
			with(nonMember(fb, fb, fb), fb, okay, okay)},
		{"edit", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			d := "new description"
			_, err := c.EditGroup(ctx, g, wire.GroupPatch{Description: &d})
			return err
		}, with(nonMember(fb, fb, fb), fb, okay, okay)},
		{"delete", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			return c.DeleteGroup(ctx, g)
		},
			with(nonMember(fb, fb, fb), fb, fb, okay)},
		{"history", false, func(ctx context.Context, c *client.Client, _ *client.Conn, _, id string) error {
			_, err := c.Messages(ctx, id, client.HistoryQuery{})
			return err
		}, with(nonMember(fb, fb, fb), okay, okay, okay)},
		{"conversation-members", false, func(ctx context.Context, c *client.Client, _ *client.Conn, _, id string) error {
			_, err := c.ConversationMembers(ctx, id)
			return err
		}, with(nonMember(fb, fb, fb), okay, okay, okay)},
		{"leave", false, func(ctx context.Context, c *client.Client, _ *client.Conn, g, _ string) error {
			return c.LeaveGroup(ctx, g)
		},
			with(nonMember(nf, nf, nf), okay, okay, "conflict")},
		{"send", true, func(ctx context.Context, _ *client.Client, conn *client.Conn, _, id string) error {
			_, err := conn.Send(ctx, client.SendRequest{Conversation: id, Text: "hi"})
			return err
		}, with(nonMember(fb, fb, fb), okay, okay, okay)},
		{"receipt", true, func(ctx context.Context, _ *client.Client, conn *client.Conn, _, id string) error {
			return conn.Receipt(ctx, id, 1, "read")
		}, with(nonMember(fb, fb, fb), okay, okay, okay)},
		{"watch", true, func(ctx context.Context, _ *client.Client, conn *client.Conn, _, id string) error {
			_, err := conn.Watch(ctx, id)
			return err
		}, with(nonMember(fb, fb, fb), okay, okay, okay)},
	}
}

// authorizationMatrix runs every group call and frame as every actor, on a
// fresh group each time, public and private, and checks each answer.
func authorizationMatrix(t *testing.T, servers []*testServer) {
	u := newMatrixUsers(t, servers)
	for _, visibility := range []string{"public", "private"} {
		for _, call := range groupCalls() {
			for _, actor := range actors {
				want := call.want[actor]
				switch {
				case actor == "anonymous" || actor == "loggedout":
					if call.ws {
						continue // cannot connect at all: see below
					}
					want = "unauthorized"
				case visibility == "private" && (actor == "stranger" || actor == "banned" || actor == "removed"):
					want = nf
				}
				t.Run(fmt.Sprintf("%s/%s/%s", visibility, call.name, actor), func(t *testing.T) {
					name, id := u.setup(t, visibility)
					err := call.do(ctxT(t), u.api[actor], u.conns[actor], name, id)
					if got := client.ErrorCode(err); got != want {
						t.Fatalf("%s as %s in a %s group: %v; want %q", call.name, actor, visibility, err, want)
					}
					if want == nf && visibility == "private" {
						// Word for word the answer for a name or id that does
						// not exist.
						unknown := fmt.Sprintf("no group %q", name)
						if call.ws || call.name == "history" || call.name == "conversation-members" {
							unknown = fmt.Sprintf("no conversation %q", id)
						}
						var e *client.Error
						if !errors.As(err, &e) || e.Message != unknown {
							t.Fatalf("a private group's 404 says %v; want %q, as for an unknown one", err, unknown)
						}
					}
				})
			}
		}
	}
	// Without a live session there is no connection to send frames on.
	for _, actor := range []string{"anonymous", "loggedout"} {
		if _, err := u.api[actor].Dial(ctxT(t), "matrix"); client.ErrorCode(err) != "unauthorized" {
			t.Errorf("dial as %s: %v; want unauthorized", actor, err)
		}
	}
	// The directory lists public groups to anyone signed in, never private
	// ones; sync gives non-members nothing of either.
	pub, pubID := u.setup(t, "public")
	priv, privID := u.setup(t, "private")
	for _, actor := range []string{"stranger", "banned", "removed"} {
		for _, q := range []struct {
			name   string
			listed bool
		}{{pub, true}, {priv, false}} {
			gs, err := u.api[actor].SearchGroups(ctxT(t), q.name, 5)
			if err != nil {
				t.Fatal(err)
			}
			if listed := len(gs) == 1 && gs[0].Name == q.name; listed != q.listed {
				t.Errorf("directory search for %s as %s: %+v; listed %v, want %v", q.name, actor, gs, listed, q.listed)
			}
		}
		convs, err := u.conns[actor].Sync(ctxT(t), map[string]int64{pubID: 0, privID: 0})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range convs {
			if c.ID == pubID || c.ID == privID {
				t.Errorf("sync as %s lists %s", actor, c.Name)
			}
		}
	}
	_, err := u.api["anonymous"].SearchGroups(ctxT(t), "", 5)
	wantCode(t, err, "unauthorized")
}

func TestGroupAuthorization(t *testing.T) {
	authorizationMatrix(t, []*testServer{startServer(t)})
}
