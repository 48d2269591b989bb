package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/internal/push/pushtest"
)

// TestBrowserNotifications: the service worker registers on load without a
// permission prompt; the button asks for permission and subscribes, and the
// server gets the subscription (headless Chromium cannot reach a real push
// service, so the page's PushManager hands back a subscription of the
// in-test push service); the server then pushes to it, encrypted, once the
// user is away. The bell sets the conversation's level on the server.
func TestBrowserNotifications(t *testing.T) {
	t.Parallel()
	n, err := startNode(suite.bin, "127.0.0.1:0", filepath.Join(t.TempDir(), "data"), "--push", "--push-allow-http")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	base := "http://" + n.addr
	ps := pushtest.NewServer(t)
	sub := ps.Subscribe(t, "alice-browser")

	b := newBrowser(t)
	alice, bob := b.page(t, "alice"), b.page(t, "bob")
	alice.signup(base, pw)
	bob.signup(base, pw)

	alice.waitJS("service worker active", `(() => {
		if (!window.__sw) { window.__sw = 'waiting'; navigator.serviceWorker.ready.then(r => { window.__sw = r.active ? 'active' : 'none'; }); }
		return window.__sw === 'active';
	})()`)
	alice.do("button shown", chromedp.WaitVisible(chromedp.ID("notify")))
	if got := evalJS[string](alice, `Notification.permission`); got != "default" {
		t.Errorf("permission after load = %q; want default (never asked on load)", got)
	}

	// Grant as the user would at the prompt, and stand in for the push
	// service the browser cannot reach.
	alice.do("grant notifications", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		c := chromedp.FromContext(ctx)
		_, err := cdp.Call(ctx, c.Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: base, BrowserContextID: c.BrowserContextID,
		})
		return err
	}))
	alice.waitJS("push service stand-in", `(() => {
		PushManager.prototype.getSubscription = async () => null;
		PushManager.prototype.subscribe = async function (opts) {
			window.__serverKey = btoa(String.fromCharCode(...new Uint8Array(opts.applicationServerKey)));
			const j = { endpoint: `+js(sub.Endpoint)+`, keys: { p256dh: `+js(sub.P256dh)+`, auth: `+js(sub.Auth)+` } };
			return { endpoint: j.endpoint, toJSON: () => j };
		};
		return true;
	})()`)
	alice.do("enable", chromedp.Click(chromedp.ID("notify")))
	alice.waitJS("notifications on", `document.getElementById('notify').dataset.state === 'on'`)
	if evalJS[string](alice, `window.__serverKey || ''`) == "" {
		t.Error("subscribe was not given the server's VAPID key")
	}

	// The bell: alice sets her direct chat with bob to mentions, then all.
	alice.startDirect("bob")
	alice.send("hello bob")
	alice.waitMessage("hello bob")
	alice.do("bell shown", chromedp.WaitVisible(chromedp.ID("bell")))
	convID := evalJS[string](alice, `JSON.parse(sessionStorage.getItem('sb.view')).conv`)
	token := evalJS[string](alice, `JSON.parse(localStorage.getItem('sb.session')).token`)
	setBell := func(v string) {
		alice.waitJS("bell "+v, `(() => { const b = document.getElementById('bell'); b.value = `+js(v)+`; b.dispatchEvent(new Event('change')); return true; })()`)
		deadline := time.Now().Add(10 * time.Second)
		for level(t, base, convID, token) != v {
			if time.Now().After(deadline) {
				t.Fatalf("server level never became %q", v)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	setBell("mentions")
	setBell("all")

	// Alice closes her tab; bob writes; the push reaches her subscription.
	alice.close()
	bob.startDirect("alice")
	bob.send("are you there?")
	deadline := time.Now().Add(20 * time.Second)
	for len(ps.Got()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no push within 20s; refused: %v", ps.Errors())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var p struct {
		Conversation, From string
		Seq                int64
	}
	if got := ps.Got(); len(got) != 1 || json.Unmarshal(got[0].Payload, &p) != nil || p.From != "bob" || p.Conversation != convID {
		t.Errorf("pushes = %+v; want one from bob in %s", got, convID)
	}
}

// level reads a conversation's notification level from the server.
func level(t *testing.T, base, convID, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/conversations/"+convID+"/notifications", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct{ Level string }
	_ = json.NewDecoder(res.Body).Decode(&s)
	return strings.TrimSpace(s.Level)
}
