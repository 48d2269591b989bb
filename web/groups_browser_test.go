package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/client"
)

// clickIn clicks the button labelled text in the member or ban row of user.
func clickIn(p *page, list, user, text string) {
	p.t.Helper()
	p.waitJS("click "+text+" for "+user, `(() => {
		const li = document.querySelector('#`+list+` li[data-user=`+js(user)+`]');
		const b = li && [...li.querySelectorAll('button')].find(b => b.textContent === `+js(text)+`);
		if (!b) return false;
		b.click();
		return true;
	})()`)
}

func roleOf(user string) string {
	return `(() => { const li = document.querySelector('#member-list li[data-user=` + js(user) + `]'); return li ? li.querySelector('.role').textContent : ''; })()`
}

// A private group managed in the browser: create it, add people, change a
// role, edit it, make it public and find it in the directory, ban, remove,
// leave; the room's online count; blocking a user.
func TestBrowserGroupManagement(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	ann, ben, cat, dov := b.page(t, "gm-ann"), b.page(t, "gm-ben"), b.page(t, "gm-cat"), b.page(t, "gm-dov")
	for _, p := range []*page{ann, ben, cat, dov} {
		p.signup(suite.front, pw)
	}
	ann.do("create a private group",
		chromedp.Click(chromedp.ID("group-private")),
		chromedp.SendKeys(chromedp.ID("group-name"), "gm-secret"),
		chromedp.Click(chromedp.ID("group-create")))
	ann.waitJS("group open", `document.getElementById('conv-title').textContent === 'gm-secret'`)
	ann.waitJS("room count", `document.getElementById('room-online').textContent === '1 online'`)

	// Nobody else can find or join it.
	cat.do("browse", chromedp.SendKeys(chromedp.ID("group-name"), "gm-secret"), chromedp.Click(chromedp.ID("group-browse")))
	cat.waitJS("not listed", `document.getElementById('dir-list').textContent.includes('No public group matches')`)
	cat.do("join", chromedp.Click(chromedp.ID("group-join")))
	cat.waitJS("no such group", `document.getElementById('side-error').textContent.includes('no group') || document.getElementById('side-error').textContent.includes('There is no group')`)

	// Add ben and dov from the group panel; ben sees the group arrive.
	ann.do("open the panel", chromedp.Click(chromedp.ID("manage")), chromedp.WaitVisible(chromedp.ID("group-panel")))
	for _, u := range []string{"gm-ben", "gm-dov"} {
		ann.do("add "+u, chromedp.SendKeys(chromedp.ID("add-user"), u), chromedp.Click(chromedp.ID("add-submit")))
		ann.waitJS(u+" listed", roleOf(u)+` === 'member'`)
	}
	ann.waitJS("room count", `document.getElementById('room-online').textContent === '3 online'`)
	ben.openConv("gm-secret")
	ben.waitJS("ben sees the room", `document.getElementById('room-online').textContent === '3 online'`)

	// ben becomes an admin.
	ann.waitJS("make ben admin", `(() => {
		const s = document.querySelector('#member-list li[data-user="gm-ben"] select');
		if (!s) return false;
		s.value = 'admin';
		s.dispatchEvent(new Event('change'));
		return true;
	})()`)
	ann.waitJS("ben is admin", roleOf("gm-ben")+` === 'admin'`)

	// Edit title and description, and make the group public.
	ann.do("edit",
		chromedp.SetValue(chromedp.ID("edit-title"), "Secret Club"),
		chromedp.SetValue(chromedp.ID("edit-description"), "for friends of ann"),
		chromedp.SetValue(chromedp.ID("edit-visibility"), "public"),
		chromedp.Click(chromedp.ID("edit-save")))
	ann.waitJS("title shown", `document.getElementById('conv-title').textContent === 'Secret Club'`)

	// Now cat finds it in the directory and joins.
	cat.do("browse again", chromedp.SetValue(chromedp.ID("group-name"), "secret"), chromedp.Click(chromedp.ID("group-browse")))
	cat.waitJS("listed", `document.querySelector('#dir-list li[data-name="gm-secret"]') && document.getElementById('dir-list').textContent.includes('for friends of ann')`)
	cat.do("join from the directory", chromedp.Click(chromedp.CSS(`#dir-list li[data-name="gm-secret"] button`)))
	cat.waitJS("group open", `document.getElementById('conv-title').textContent === 'Secret Club'`)
	ann.waitJS("cat listed", roleOf("gm-cat")+` === 'member'`)

	// ben (admin) bans cat; cat loses the group, ann sees the ban.
	ben.do("ben opens the panel", chromedp.Click(chromedp.ID("manage")), chromedp.WaitVisible(chromedp.ID("group-panel")))
	clickIn(ben, "member-list", "gm-cat", "Ban")
	cat.waitJS("group gone for cat", `!document.querySelector('#conv-list li[data-kind="group"]')`)
	ann.waitJS("cat banned", `document.querySelector('#ban-list li[data-user="gm-cat"]')`)
	// ann removes dov; dov loses the group.
	clickIn(ann, "member-list", "gm-dov", "Remove")
	dov.waitJS("group gone for dov", `!document.querySelector('#conv-list li[data-kind="group"]')`)
	ann.waitJS("dov gone", roleOf("gm-dov")+` === ''`)
	ann.waitJS("room count", `document.getElementById('room-online').textContent === '2 online'`)
	ann.screenshot("group-panel")
	// ben leaves.
	ben.do("leave", chromedp.Click(chromedp.ID("leave")))
	ben.waitJS("group gone for ben", `!document.querySelector('#conv-list li[data-kind="group"]')`)
	ann.waitJS("ben gone", roleOf("gm-ben")+` === ''`)

	// ann blocks dov: dov can no longer message her.
	ann.startDirect("gm-dov")
	ann.do("block", chromedp.Click(chromedp.ID("block")))
	ann.waitJS("unblock offered", `document.getElementById('block').textContent === 'Unblock'`)
	c := client.New(suite.front)
	if _, err := c.Login(context.Background(), "gm-dov", pw); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Dial(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Send(context.Background(), client.SendRequest{ToUser: "gm-ann", Text: "let me in"}); client.ErrorCode(err) != "forbidden" {
		t.Fatalf("dov's message to ann, who blocks him: %v; want forbidden", err)
	}
}
