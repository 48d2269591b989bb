package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/httpapi"
	"github.com/switchboard-chat/switchboard/wire"
)

// Every admin route answers 403 to a signed-in non-admin, 401 without a
// token, and something else than 403 to an admin.
func TestAdminRoutesRefuseNonAdmins(t *testing.T) {
	s := startServer(t)
	plain := user(t, s, "plain")
	root := user(t, s, "root")
	grantAdmin(t, "root", "--data", s.Data)
	user(t, s, "victim") // the admin's calls act on victim, not on plain
	fill := strings.NewReplacer("{username}", "victim", "{id}", "nosuchconv", "{seq}", "1", "{name}", "nosuchgroup")
	for _, route := range httpapi.AdminRoutes() {
		method, path, _ := strings.Cut(route, " ")
		path = fill.Replace(path)
		for _, tt := range []struct {
			who   string
			token string
			want  func(int) bool
		}{
			{"non-admin", plain.Token(), func(c int) bool { return c == http.StatusForbidden }},
			{"no token", "", func(c int) bool { return c == http.StatusUnauthorized }},
			{"admin", root.Token(), func(c int) bool { return c != http.StatusForbidden && c != http.StatusUnauthorized }},
		} {
			req, _ := http.NewRequest(method, s.URL+path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body wire.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if !tt.want(resp.StatusCode) {
				t.Errorf("%s as %s: %d %+v", route, tt.who, resp.StatusCode, body)
			}
		}
	}
	// A role taken away counts at once.
	var out, errb bytes.Buffer
	if err := run(ctxT(t), []string{"admin", "revoke", "root", "--data", s.Data}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	_, err := root.Stats(ctxT(t))
	wantCode(t, err, "forbidden")
}

func TestAdminActionsAndAudit(t *testing.T) {
	s := startServer(t)
	ctx := ctxT(t)
	root, kim, lou := user(t, s, "root"), user(t, s, "kim"), user(t, s, "lou")
	grantAdmin(t, "root", "--data", s.Data)
	kc := dial(t, kim, "k")
	if _, err := lou.CreateGroup(ctx, "spam", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := kim.JoinGroup(ctx, "spam"); err != nil {
		t.Fatal(err)
	}
	m1, err := kc.Send(ctx, client.SendRequest{ToUser: "lou", Text: "rude words"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := kc.Send(ctx, client.SendRequest{ToUser: "lou", Text: "kind words"})
	if err != nil {
		t.Fatal(err)
	}

	users, err := root.AdminUsers(ctx, "", "", 0)
	if err != nil || len(users) != 3 || !users[2].Admin {
		t.Fatalf("AdminUsers = %+v, %v", users, err)
	}
	if found, err := root.AdminUsers(ctx, "KI", "", 0); err != nil || len(found) != 1 || found[0].Username != "kim" {
		t.Fatalf("search kim = %+v, %v", found, err)
	}
	_, err = root.AdminUsers(ctx, "", "", 501)
	wantCode(t, err, "bad_request")

	st, err := root.Stats(ctx)
	if err != nil || st.Users != 3 || st.Messages != 2 || st.Connections != 1 || len(st.Nodes) != 1 {
		t.Fatalf("Stats = %+v, %v; want 3 users, 2 messages, 1 connection on 1 node", st, err)
	}

	del, err := root.AdminDeleteMessage(ctx, m1.Conversation, m1.Seq, "insults")
	if err != nil || del.Text != "" || del.Seq != m1.Seq {
		t.Fatalf("AdminDeleteMessage = %+v, %v", del, err)
	}
	h, err := lou.Messages(ctx, m1.Conversation, client.HistoryQuery{})
	if err != nil || len(h) != 2 || h[0].Text != "" || h[1].Text != m2.Text {
		t.Fatalf("history after the deletion = %+v, %v", h, err)
	}
	_, err = root.AdminDeleteMessage(ctx, m1.Conversation, 99, "")
	wantCode(t, err, "not_found")

	n, err := root.ForceLogout(ctx, "kim")
	if err != nil || n != 1 {
		t.Fatalf("ForceLogout = %d, %v", n, err)
	}
	closed(t, kc, 4002)
	wantCode(t, root.AdminDeleteGroup(ctx, "spam"), "")
	_, err = lou.Members(ctx, "spam")
	wantCode(t, err, "not_found")
	if _, err := root.Suspend(ctx, "lou", true); err != nil {
		t.Fatal(err)
	}
	_, err = root.Suspend(ctx, "root", true)
	wantCode(t, err, "bad_request")
	_, err = root.Suspend(ctx, "nobody", true)
	wantCode(t, err, "not_found")

	entries, err := root.Audit(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target)
	}
	want := []string{
		"root suspend lou",
		"root delete_group spam",
		"root force_logout kim",
		fmt.Sprintf("root delete_message %s/%d", m1.Conversation, m1.Seq),
		"cli grant_admin root",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(entries[3].Details, "insults") || entries[0].TS == 0 {
		t.Errorf("audit details %+v", entries[3])
	}
}

// The CLI's API commands print JSON answers of the admin API.
func TestAdminCLI(t *testing.T) {
	s := startServer(t)
	root := user(t, s, "root")
	user(t, s, "max")
	grantAdmin(t, "root", "--data", s.Data)
	env := func(k string) string {
		return map[string]string{"SWITCHBOARD_TOKEN": root.Token(), "SWITCHBOARD_SERVER": s.URL}[k]
	}
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctxT(t), append([]string{"admin"}, args...), env, &out, &errb)
		return out.String(), err
	}
	out, err := cli("users", "ma")
	if err != nil || !strings.Contains(out, `"username": "max"`) || strings.Contains(out, `"root"`) {
		t.Fatalf("admin users ma: %v\n%s", err, out)
	}
	if out, err = cli("suspend", "max"); err != nil || !strings.Contains(out, `"suspended": true`) {
		t.Fatalf("admin suspend: %v\n%s", err, out)
	}
	_, err = client.New(s.URL).Login(ctxT(t), "max", "password-max")
	wantCode(t, err, "forbidden")
	if out, err = cli("unsuspend", "max"); err != nil || strings.Contains(out, `"suspended"`) {
		t.Fatalf("admin unsuspend: %v\n%s", err, out)
	}
	login(t, s, "max")
	if out, err = cli("stats"); err != nil || !strings.Contains(out, `"users": 2`) {
		t.Fatalf("admin stats: %v\n%s", err, out)
	}
	if out, err = cli("audit"); err != nil || !strings.Contains(out, `"unsuspend"`) {
		t.Fatalf("admin audit: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"suspend"}, {"delete-message", "c", "x"}, {"frobnicate"}, {"audit", "many"}} {
		if _, err := cli(args...); err == nil {
			t.Errorf("admin %v: no error", args)
		}
	}
	if _, err := cli("users", strings.Repeat("q", 65)); client.ErrorCode(err) != "bad_request" {
		t.Errorf("a long query: %v", err)
	}
	var errb bytes.Buffer
	if err := run(ctxT(t), []string{"admin", "users"}, func(string) string { return "" }, &bytes.Buffer{}, &errb); err == nil {
		t.Errorf("admin without a token: no error")
	}
	if err := run(ctxT(t), []string{"admin", "grant", "nobody", "--data", s.Data}, func(string) string { return "" }, &bytes.Buffer{}, &errb); err == nil {
		t.Errorf("grant to an unknown user: no error")
	}
}
