package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-chat/switchboard/client"
)

const pw = "correct horse battery"

// Two users chat, each in their own browser context: messages arrive, the
// sender's ticks move to read, typing and presence show.
func TestBrowserDirectChat(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	alice, bob := b.page(t, "alice"), b.page(t, "bob")
	alice.signup(suite.front, pw)
	bob.signup(suite.front, pw)

	alice.startDirect("bob")
	alice.waitJS("bob shown online", `document.getElementById('conv-status').textContent === 'online'`)
	alice.send("hi bob")
	alice.waitStatus("hi bob", "sent")

	// Bob has not opened the chat: it is listed with one unread message.
	bob.waitJS("unread badge", `(() => { const u = document.querySelector('#conv-list li[data-kind="direct"] .unread'); return u && u.textContent === '1'; })()`)
	alice.waitStatus("hi bob", "delivered")
	bob.openConv("alice")
	bob.waitMessage("hi bob")
	alice.waitStatus("hi bob", "read")
	bob.waitJS("badge gone", `!document.querySelector('#conv-list .unread')`)

	// Typing shows on the other side.
	bob.typeText("I am typ")
	alice.waitJS("typing shown", `document.getElementById('typing').textContent === 'bob is typing\u2026'`)
	bob.typeText("ing a reply\r")
	alice.waitMessage("I am typing a reply")
	bob.waitStatus("I am typing a reply", "read")
	alice.waitJS("typing cleared", `document.getElementById('typing').textContent === ''`)

	// Shift+Enter makes a new line; Enter sends.
	alice.do("two lines",
		chromedp.Focus(chromedp.ID("compose")),
		chromedp.SendKeys(chromedp.ID("compose"), "line one"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.SendKeys(chromedp.ID("compose"), "line two"+kb.Enter),
	)
	bob.waitMessage("line one\nline two")
	alice.waitStatus("line one\nline two", "read")
	alice.waitJS("bob online dot", `document.querySelector('#conv-list li[data-kind="direct"] .dot.online')`)
	png := alice.screenshot("chat")
	if os.Getenv("SWITCHBOARD_UPDATE_SCREENSHOT") == "1" && png != nil {
		dst := filepath.Join(suite.root, "docs", "screenshot.png")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", dst)
	}
	bob.screenshot("chat")

	// Bob closes his tab: alice sees him go offline, with a last-seen time.
	bob.close()
	alice.waitJS("bob last seen", `document.getElementById('conv-status').textContent.startsWith('last seen')`)
	alice.waitJS("bob's dot off", `!document.querySelector('#conv-list li[data-kind="direct"] .dot.online')`)
}

// A group of three: create, join, talk; ticks reach read once both others
// have read; a member who leaves is shown leaving.
func TestBrowserGroupOfThree(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	cara, dan, eve := b.page(t, "cara"), b.page(t, "dan"), b.page(t, "eve")
	for _, p := range []*page{cara, dan, eve} {
		p.signup(suite.front, pw)
	}
	cara.do("create group",
		chromedp.SendKeys(chromedp.ID("group-name"), "crew"),
		chromedp.Click(chromedp.ID("group-create")))
	cara.waitJS("group open", `document.getElementById('conv-title').textContent === 'crew'`)
	for _, p := range []*page{dan, eve} {
		p.do("join group", chromedp.SendKeys(chromedp.ID("group-name"), "crew"), chromedp.Click(chromedp.ID("group-join")))
		p.waitJS("group open", `document.getElementById('conv-title').textContent === 'crew'`)
	}
	cara.waitJS("three members", `document.getElementById('conv-status').textContent.startsWith('3 members')`)

	cara.send("welcome, crew")
	dan.waitMessage("welcome, crew")
	eve.waitMessage("welcome, crew")
	cara.waitStatus("welcome, crew", "read")
	dan.waitJS("sender named", msgsWith("welcome, crew")+`[0].querySelector('.from').textContent === 'cara'`)

	eve.send("hello from eve")
	cara.waitMessage("hello from eve")
	dan.waitMessage("hello from eve")
	eve.waitStatus("hello from eve", "read")

	dan.do("leave", chromedp.Click(chromedp.ID("leave")))
	dan.waitJS("group gone", `!document.querySelector('#conv-list li[data-kind="group"]')`)
	cara.waitJS("dan left", `[...document.querySelectorAll('#messages .notice')].some(n => n.textContent === 'dan left')`)
	cara.waitJS("two members", `document.getElementById('conv-status').textContent.startsWith('2 members')`)
	cara.screenshot("group")
}

// History survives a reload, and scrolling up loads older pages.
func TestBrowserReloadAndScrollBack(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Seed 120 messages through the Go client: more than two pages.
	gus := client.New("http://" + suite.shared.addr)
	if _, err := gus.Signup(ctx, "gus", pw, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := gus.Login(ctx, "gus", pw); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	fay := b.page(t, "fay")
	fay.signup(suite.front, pw)

	conn, err := gus.Dial(ctx, "seed")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 1; i <= 120; i++ {
		if _, err := conn.Send(ctx, client.SendRequest{ToUser: "fay", Text: fmt.Sprintf("old %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	fay.waitJS("120 unread", `(() => { const u = document.querySelector('#conv-list .unread'); return u && u.textContent === '120'; })()`)
	fay.openConv("gus")
	fay.waitMessage("old 120")
	// Gus answers from his device without a read receipt: answering shows
	// he has read what came before.
	fay.send("first reply")
	fay.waitStatus("first reply", "sent")
	if _, err := conn.Send(ctx, client.SendRequest{ToUser: "fay", Text: "got it"}); err != nil {
		t.Fatal(err)
	}
	fay.waitMessage("got it")
	fay.waitStatus("first reply", "read")

	fay.send("reply after reading")
	fay.waitStatus("reply after reading", "sent")
	// Gus reads it on his device: the tick turns, and stays after a reload.
	convID := evalJS[string](fay, `document.querySelector('#conv-list button[aria-current="true"]').closest('li').dataset.convId`)
	seq := evalJS[int64](fay, `+`+msgsWith("reply after reading")+`[0].dataset.seq`)
	if err := conn.Receipt(ctx, convID, seq, "read"); err != nil {
		t.Fatal(err)
	}
	fay.waitStatus("reply after reading", "read")

	fay.do("reload", chromedp.Reload())
	fay.waitOnline()
	fay.openConv("gus")
	fay.waitStatus("reply after reading", "read")
	fay.waitMessage("old 120")
	// Scroll to the top until the first message is loaded.
	for i := 0; i < 10 && fay.countMessages("old 1") == 0; i++ {
		fay.do("scroll up", discard(chromedp.Evaluate[bool](`(document.getElementById('scroller').scrollTop = 0) === 0`)))
		fay.waitJS("page loaded", `document.getElementById('history-note').textContent !== 'Loading\u2026'`)
	}
	fay.waitMessage("old 1")
	got := evalJS[int](fay, `document.querySelectorAll('#messages li.msg').length`)
	if got != 123 {
		t.Errorf("messages shown after scrolling back: got %d, want 123", got)
	}
	if dup := evalJS[int](fay, `(() => { const s = [...document.querySelectorAll('#messages li.msg')].map(li => li.dataset.seq); return s.length - new Set(s).size; })()`); dup != 0 {
		t.Errorf("%d duplicate messages", dup)
	}
	fay.waitJS("in order", `(() => { const s = [...document.querySelectorAll('#messages li.msg')].map(li => +li.dataset.seq); return s.every((v, i) => i === 0 || s[i-1] < v); })()`)
	fay.screenshot("history")

	// Log out and back in: the session is new, the history the same.
	fay.do("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-username")))
	if got := evalJS[bool](fay, `localStorage.getItem('sb.session') === null`); !got {
		t.Errorf("the session token is still stored after logging out")
	}
	fay.do("log in",
		chromedp.SendKeys(chromedp.ID("login-username"), "fay"),
		chromedp.SendKeys(chromedp.ID("login-password"), pw+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("app")))
	fay.waitOnline()
	fay.openConv("gus")
	fay.waitMessage("reply after reading")
	// A new device, with nothing saved, draws the tick from the positions
	// the server keeps.
	fresh := newBrowser(t).page(t, "fay")
	fresh.open(suite.front)
	fresh.do("log in on a new device",
		chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), "fay"),
		chromedp.SendKeys(chromedp.ID("login-password"), pw+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("app")))
	fresh.waitOnline()
	fresh.openConv("gus")
	fresh.waitStatus("reply after reading", "read")
}

// The node restarts mid-conversation: both clients show the offline banner,
// a message written meanwhile waits in the outbox, and after the restart
// (same port, same data) it is delivered once and both catch up.
func TestBrowserServerRestart(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	n, err := startNode(suite.bin, "127.0.0.1:0", data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.stop() })
	front, closeFront := frontOf(n.addr)
	t.Cleanup(closeFront)

	b := newBrowser(t)
	hal, ivy := b.page(t, "hal"), b.page(t, "ivy")
	hal.signup(front, pw)
	ivy.signup(front, pw)
	hal.startDirect("ivy")
	hal.send("before the restart")
	ivy.openConv("hal")
	ivy.waitMessage("before the restart")
	hal.waitStatus("before the restart", "read")

	n.stop()
	hal.waitJS("offline banner", `!document.getElementById('banner').hidden && document.getElementById('banner').textContent.includes('Offline')`)
	ivy.waitJS("offline banner", `!document.getElementById('banner').hidden`)
	hal.send("written while offline")
	hal.waitStatus("written while offline", "pending")
	hal.screenshot("offline")

	n2, err := startNode(suite.bin, n.addr, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n2.stop() })
	// Ivy's phone writes at once, while the browsers may still be
	// reconnecting: they get it by push or by sync, once either way.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := client.New("http://" + n2.addr)
	if _, err := phone.Login(ctx, "ivy", pw); err != nil {
		t.Fatal(err)
	}
	pc, err := phone.Dial(ctx, "phone")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.Send(ctx, client.SendRequest{ToUser: "hal", Text: "from ivy's phone"}); err != nil {
		t.Fatal(err)
	}
	_ = evalJS[bool](hal, `(() => { const b = document.querySelector('#banner button'); if (b) b.click(); return true; })()`)
	hal.waitOnline()
	ivy.waitOnline()
	ivy.waitMessage("written while offline")
	hal.waitStatus("written while offline", "read")

	// A message sent by ivy after the restart reaches hal too.
	ivy.send("after the restart")
	hal.waitMessage("after the restart")
	hal.waitMessage("from ivy's phone")
	ivy.waitMessage("from ivy's phone")
	for _, c := range []struct {
		p    *page
		text string
	}{
		{hal, "before the restart"}, {hal, "written while offline"}, {hal, "after the restart"},
		{ivy, "before the restart"}, {ivy, "written while offline"}, {ivy, "after the restart"},
		{hal, "from ivy's phone"}, {ivy, "from ivy's phone"},
	} {
		if got := c.p.countMessages(c.text); got != 1 {
			t.Errorf("%s sees %q %d times, want once", c.p.name, c.text, got)
		}
	}
	if got := evalJS[int](hal, `JSON.parse(localStorage.getItem('sb.outbox.hal') || '[]').length`); got != 0 {
		t.Errorf("hal's outbox holds %d messages after the ack, want 0", got)
	}
	hal.screenshot("reconnected")
}

// Markup in a message is shown as text and never runs.
func TestBrowserMarkupIsText(t *testing.T) {
	t.Parallel()
	const evil = `<script>window.pwned=1</script><b>x</b><img src=x onerror="window.pwned=2">`
	b := newBrowser(t)
	jon, kim := b.page(t, "jon"), b.page(t, "kim")
	jon.signup(suite.front, pw)
	kim.do("phone width", chromedp.EmulateViewport(390, 760))
	kim.signup(suite.front, pw)
	jon.startDirect("kim")
	jon.send(evil)
	kim.openConv("jon")
	kim.waitMessage(evil)
	jon.waitMessage(evil)
	for _, p := range []*page{jon, kim} {
		if got := evalJS[bool](p, `typeof window.pwned === 'undefined'`); !got {
			t.Errorf("%s: window.pwned is set: markup ran", p.name)
		}
		if n := evalJS[int](p, `document.querySelectorAll('#messages .text b, #messages .text script, #messages .text img').length`); n != 0 {
			t.Errorf("%s: %d elements were made from message text", p.name, n)
		}
	}
	// At phone width the conversation fills the screen; Back shows the list.
	kim.waitJS("list hidden", `getComputedStyle(document.querySelector('.sidebar')).display === 'none'`)
	kim.screenshot("phone")
	kim.do("back", chromedp.Click(chromedp.ID("back")))
	kim.waitJS("list shown", `getComputedStyle(document.querySelector('.sidebar')).display !== 'none'`)
	kim.screenshot("phone-list")
}

// One user's network drops while the others chat: the client shows the
// banner, keeps what is typed in its outbox, and after the network is back
// it syncs: every missed message once, in order, and its own sent once.
func TestBrowserNetworkDrop(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	lea, mo := b.page(t, "lea"), b.page(t, "moe")
	leaNet := newCutter(t, suite.front)
	lea.signup(leaNet.URL(), pw)
	mo.signup(suite.front, pw)
	mo.startDirect("lea")
	mo.send("are you there?")
	lea.openConv("moe")
	lea.waitMessage("are you there?")

	leaNet.cut()
	lea.waitJS("offline banner", `!document.getElementById('banner').hidden`)
	// Mo goes on; lea cannot see it yet.
	for i := 1; i <= 3; i++ {
		mo.send(fmt.Sprintf("missed %d", i))
		mo.waitStatus(fmt.Sprintf("missed %d", i), "sent")
	}
	lea.send("typed in a tunnel")
	lea.waitStatus("typed in a tunnel", "pending")
	// A reload while offline keeps the unsent message and the open chat.
	lea.do("reload offline", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("composer")))
	lea.waitJS("offline banner after reload", `!document.getElementById('banner').hidden`)
	lea.waitStatus("typed in a tunnel", "pending")
	if got := lea.countMessages("missed 1"); got != 0 {
		t.Fatalf("lea sees a message sent while her network was cut")
	}

	leaNet.restore()
	_ = evalJS[bool](lea, `(() => { const b = document.querySelector('#banner button'); if (b) b.click(); return true; })()`)
	lea.waitOnline()
	lea.waitMessage("missed 3")
	mo.waitMessage("typed in a tunnel")
	for _, text := range []string{"missed 1", "missed 2", "missed 3", "typed in a tunnel"} {
		if got := lea.countMessages(text); got != 1 {
			t.Errorf("lea sees %q %d times, want once", text, got)
		}
	}
	if got := mo.countMessages("typed in a tunnel"); got != 1 {
		t.Errorf("mo sees lea's offline message %d times, want once", got)
	}
	lea.waitJS("in order", `(() => { const s = [...document.querySelectorAll('#messages li.msg')].map(li => +li.dataset.seq); return s.every((v, i) => i === 0 || s[i-1] + 1 === v); })()`)
	mo.waitStatus("missed 3", "read")
}

// An image sent as an attachment shows inline on both sides.
func TestBrowserAttachment(t *testing.T) {
	t.Parallel()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		for y := 0; y < 48; y++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 4), G: uint8(y * 5), B: 200, A: 255})
		}
	}
	path := filepath.Join(t.TempDir(), "picture.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	ned, ola := b.page(t, "ned"), b.page(t, "ola")
	ned.signup(suite.front, pw)
	ola.signup(suite.front, pw)
	ned.startDirect("ola")
	ned.send("a picture follows")
	ned.do("attach", chromedp.SetUploadFiles(chromedp.ID("attach"), []string{path}))
	loaded := `[...document.querySelectorAll('#messages li.msg[data-seq] .media img')].some(i => i.complete && i.naturalWidth > 0)`
	ned.waitJS("image shown to the sender", loaded)
	ola.openConv("ned")
	ola.waitMessage("a picture follows")
	ola.waitJS("image shown to the recipient", loaded)
	ola.screenshot("attachment")
}
