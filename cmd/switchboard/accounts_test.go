package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/wire"
)

// pngBytes is a small valid PNG.
func pngBytes(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 3))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// closed waits for conn to be closed by the server with code.
func closed(t testing.TB, conn *client.Conn, code int) {
	t.Helper()
	select {
	case <-conn.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("connection on %s stayed open", conn.Node())
	}
	var ce *client.CloseError
	if !errors.As(conn.Err(), &ce) || ce.Code != code {
		t.Fatalf("close on %s = %v; want code %d", conn.Node(), conn.Err(), code)
	}
}

// login opens another session of an existing account.
func login(t testing.TB, s *testServer, name string) *client.Client {
	t.Helper()
	c := client.New(s.URL)
	if _, err := c.Login(ctxT(t), name, "password-"+name); err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return c
}

// grantAdmin runs `switchboard admin grant` against the node's store.
func grantAdmin(t testing.TB, name string, store ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(ctxT(t), append([]string{"admin", "grant", name}, store...), func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("admin grant %s: %v\n%s", name, err, errb.String())
	}
}

func TestProfileChanges(t *testing.T) {
	s := startServer(t)
	ann, bob := user(t, s, "ann"), user(t, s, "bob")
	ctx := ctxT(t)
	img, err := ann.UploadMedia(ctx, "image/png", bytes.NewReader(pngBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	txt, err := ann.UploadMedia(ctx, "text/plain", strings.NewReader("not a picture"))
	if err != nil {
		t.Fatal(err)
	}
	bobImg, err := bob.UploadMedia(ctx, "image/png", bytes.NewReader(pngBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	bad := []struct {
		name string
		req  wire.ProfileRequest
		code string
	}{
		{"empty display name", wire.ProfileRequest{DisplayName: str("")}, "bad_request"},
		{"long display name", wire.ProfileRequest{DisplayName: str(strings.Repeat("x", 65))}, "bad_request"},
		{"control character", wire.ProfileRequest{DisplayName: str("a\x00b")}, "bad_request"},
		{"avatar not an image", wire.ProfileRequest{Avatar: str(txt.ID)}, "bad_request"},
		{"avatar of someone else", wire.ProfileRequest{Avatar: str(bobImg.ID)}, "forbidden"},
		{"avatar unknown", wire.ProfileRequest{Avatar: str("nosuchmedia")}, "bad_request"},
		{"good name, bad avatar", wire.ProfileRequest{DisplayName: str("Changed"), Avatar: str(txt.ID)}, "bad_request"},
	}
	for _, tt := range bad {
		_, err := ann.UpdateProfile(ctx, tt.req)
		if got := client.ErrorCode(err); got != tt.code {
			t.Errorf("%s: error %v; want %s", tt.name, err, tt.code)
		}
	}
	if me, err := ann.Me(ctx); err != nil || me.DisplayName != "ann" || me.Avatar != "" {
		t.Fatalf("after bad input: %+v, %v; want nothing changed", me, err)
	}
	me, err := ann.UpdateProfile(ctx, wire.ProfileRequest{DisplayName: str("Ann Smith"), Avatar: str(img.ID)})
	if err != nil || me.DisplayName != "Ann Smith" || me.Avatar != img.ID {
		t.Fatalf("UpdateProfile = %+v, %v", me, err)
	}
	// Others see the new profile and may fetch the avatar.
	seen, err := bob.User(ctx, "ann")
	if err != nil || seen.DisplayName != "Ann Smith" || seen.Avatar != img.ID {
		t.Fatalf("bob sees %+v, %v", seen, err)
	}
	resp, err := bob.OpenMedia(ctx, img.ID)
	if err != nil {
		t.Fatalf("bob fetches ann's avatar: %v", err)
	}
	resp.Body.Close()
	if me, err := ann.UpdateProfile(ctx, wire.ProfileRequest{Avatar: str("")}); err != nil || me.Avatar != "" || me.DisplayName != "Ann Smith" {
		t.Fatalf("removing the avatar = %+v, %v", me, err)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	s := startServer(t)
	ctx := ctxT(t)
	cat := user(t, s, "cat")
	other := login(t, s, "cat")
	keep := dial(t, cat, "this-tab")
	gone := dial(t, other, "other-tab")

	wantCode(t, cat.ChangePassword(ctx, "wrong-password", "a new long password"), "forbidden")
	wantCode(t, cat.ChangePassword(ctx, "password-cat", "short"), "bad_request")
	if _, err := other.Sessions(ctx); err != nil {
		t.Fatalf("bad input ended a session: %v", err)
	}
	if err := cat.ChangePassword(ctx, "password-cat", "a new long password"); err != nil {
		t.Fatal(err)
	}
	closed(t, gone, 4002)
	_, err := other.Sessions(ctx)
	wantCode(t, err, "unauthorized")
	if err := keep.Ping(ctx); err != nil {
		t.Fatalf("the changing session's socket: %v", err)
	}
	ss, err := cat.Sessions(ctx)
	if err != nil || len(ss) != 1 || !ss[0].Current {
		t.Fatalf("sessions after the change = %+v, %v; want only the current one", ss, err)
	}
	_, err = client.New(s.URL).Login(ctx, "cat", "password-cat")
	wantCode(t, err, "unauthorized")
	if _, err := client.New(s.URL).Login(ctx, "cat", "a new long password"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
}

func TestSessionsListAndRevoke(t *testing.T) {
	s := startServer(t)
	ctx := ctxT(t)
	dan := user(t, s, "dan")
	phone := login(t, s, "dan")
	conn := dial(t, phone, "phone")
	eve := user(t, s, "eve")
	ss, err := dan.Sessions(ctx)
	if err != nil || len(ss) != 2 {
		t.Fatalf("Sessions = %+v, %v; want 2", ss, err)
	}
	var phoneID string
	for _, x := range ss {
		if !x.Current {
			phoneID = x.ID
		}
	}
	// Someone else's session id is not found, not revoked.
	wantCode(t, eve.RevokeSession(ctx, phoneID), "not_found")
	wantCode(t, dan.RevokeSession(ctx, "no-such-session"), "not_found")
	if err := dan.RevokeSession(ctx, phoneID); err != nil {
		t.Fatal(err)
	}
	closed(t, conn, 4002)
	_, err = phone.Me(ctx)
	wantCode(t, err, "unauthorized")
}

// readExport downloads and unpacks an export.
func readExport(t *testing.T, c *client.Client) (wire.ExportManifest, []wire.Message, map[string][]byte) {
	t.Helper()
	resp, err := c.Export(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
		t.Fatalf("Content-Type %q", ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	var man wire.ExportManifest
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	var msgs []wire.Message
	dec := json.NewDecoder(bytes.NewReader(files["messages.jsonl"]))
	for dec.More() {
		var m wire.Message
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return man, msgs, files
}

func TestExportHoldsOnlyYourData(t *testing.T) {
	s := startServer(t)
	ctx := ctxT(t)
	fay, gus, hal := user(t, s, "fay"), user(t, s, "gus"), user(t, s, "hal")
	if _, err := fay.CreateGroup(ctx, "club", "The Club"); err != nil {
		t.Fatal(err)
	}
	if _, err := gus.JoinGroup(ctx, "club"); err != nil {
		t.Fatal(err)
	}
	img, err := fay.UploadMedia(ctx, "image/png", bytes.NewReader(pngBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	fc, gc, hc := dial(t, fay, "f"), dial(t, gus, "g"), dial(t, hal, "h")
	send := func(c *client.Conn, req client.SendRequest) wire.Message {
		m, err := c.Send(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	club, _ := fay.JoinGroup(ctx, "club")
	var want []string
	want = append(want, send(fc, client.SendRequest{Conversation: club.ID, Text: "fay in club"}).ID)
	send(gc, client.SendRequest{Conversation: club.ID, Text: "gus in club"})
	want = append(want, send(fc, client.SendRequest{ToUser: "gus", Text: "fay to gus", MediaID: img.ID}).ID)
	send(gc, client.SendRequest{ToUser: "fay", Text: "gus to fay"})
	send(gc, client.SendRequest{ToUser: "hal", Text: "SECRET gus to hal"}) // fay is not in it
	send(hc, client.SendRequest{ToUser: "gus", Text: "SECRET hal to gus"})
	if _, err := hal.CreateGroup(ctx, "hidden", "SECRET group"); err != nil {
		t.Fatal(err)
	}

	man, msgs, files := readExport(t, fay)
	var got []string
	for _, m := range msgs {
		if m.From != "fay" {
			t.Errorf("export holds a message from %s: %q", m.From, m.Text)
		}
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || man.Messages != int64(len(want)) {
		t.Errorf("exported messages %v (manifest says %d); want %v", got, man.Messages, want)
	}
	if man.User.Username != "fay" || man.Format != 1 {
		t.Errorf("manifest user %+v format %d", man.User, man.Format)
	}
	var convs []string
	for _, c := range man.Conversations {
		convs = append(convs, c.Kind+":"+c.Name+c.Peer)
	}
	if len(convs) != 2 || !strings.Contains(strings.Join(convs, " "), "group:club") || !strings.Contains(strings.Join(convs, " "), "direct:gus") {
		t.Errorf("exported conversations %v; want the club and the direct one with gus", convs)
	}
	if len(man.Media) != 1 || man.Media[0].ID != img.ID || man.Media[0].File == "" {
		t.Fatalf("exported media %+v; want %s with its file", man.Media, img.ID)
	}
	if b := files[man.Media[0].File]; len(b) != int(img.Size) {
		t.Errorf("media file has %d bytes; want %d", len(b), img.Size)
	}
	for name, b := range files {
		if bytes.Contains(b, []byte("SECRET")) || bytes.Contains(b, []byte("gus in club")) || bytes.Contains(b, []byte("gus to fay")) {
			t.Errorf("%s holds another user's text", name)
		}
	}
	want4 := map[string]bool{"manifest.json": true, "messages.jsonl": true, man.Media[0].File: true}
	for name := range files {
		if !want4[name] {
			t.Errorf("unexpected file %s in the export", name)
		}
	}
	_, err = client.New(s.URL).Export(ctx)
	wantCode(t, err, "unauthorized")
}

func TestDeleteAccount(t *testing.T) {
	s := startServer(t)
	ctx := ctxT(t)
	ida, jon := user(t, s, "ida"), user(t, s, "jon")
	second := login(t, s, "ida")
	conn := dial(t, second, "tab")
	ic := dial(t, ida, "main")
	sent, err := ic.Send(ctx, client.SendRequest{ToUser: "jon", Text: "bye"})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ida.DeleteAccount(ctx, "wrong password"), "forbidden")
	if _, err := ida.Me(ctx); err != nil {
		t.Fatalf("a wrong password deleted something: %v", err)
	}
	if err := ida.DeleteAccount(ctx, "password-ida"); err != nil {
		t.Fatal(err)
	}
	closed(t, conn, 4002)
	_, err = second.Me(ctx)
	wantCode(t, err, "unauthorized")
	_, err = client.New(s.URL).Login(ctx, "ida", "password-ida")
	wantCode(t, err, "unauthorized")
	// The message stays, from a deleted user whose name stays reserved.
	h, err := jon.Messages(ctx, sent.Conversation, client.HistoryQuery{})
	if err != nil || len(h) != 1 || h[0].Text != "bye" || h[0].From != "ida" {
		t.Fatalf("jon's history = %+v, %v", h, err)
	}
	u, err := jon.User(ctx, "ida")
	if err != nil || !u.Deleted || u.DisplayName != "Deleted user" {
		t.Fatalf("profile of the deleted user = %+v, %v", u, err)
	}
	_, err = client.New(s.URL).Signup(ctx, "ida", "another password", "")
	wantCode(t, err, "conflict")
	// No new conversation with a deleted user.
	kay := dial(t, user(t, s, "kay"), "k")
	_, err = kay.Send(ctx, client.SendRequest{ToUser: "ida", Text: "hello?"})
	wantCode(t, err, "not_found")
}

// An export pages through the store (chat.MaxExportPage at a time): one
// more message than a page is all there, once each.
func TestExportPagesPastOnePage(t *testing.T) {
	s := startServer(t)
	lee := user(t, s, "lee")
	user(t, s, "moe")
	sent := sendMany(t, dial(t, lee, "l"), client.SendRequest{ToUser: "moe", Text: "m"}, chat.MaxExportPage+1)
	man, msgs, _ := readExport(t, lee)
	if man.Messages != int64(len(sent)) || len(msgs) != len(sent) {
		t.Fatalf("export has %d messages (manifest %d); want %d", len(msgs), man.Messages, len(sent))
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.ID] {
			t.Fatalf("message %s twice", m.ID)
		}
		seen[m.ID] = true
	}
	for _, m := range sent {
		if !seen[m.ID] {
			t.Fatalf("message %s missing", m.ID)
		}
	}
}
