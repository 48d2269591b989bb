package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// evalAsync returns the value a JavaScript promise resolves to.
func evalAsync[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

// The settings dialog in Chromium: a bad display name is refused and
// changes nothing; name and avatar change; a wrong current password is
// refused; the password changes and the other tab's session ends; a
// session is listed and revoked; the export downloads as a zip; the account
// is deleted and the page signs out.
func TestBrowserSettings(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	picture := filepath.Join(dir, "me.png")
	if err := os.WriteFile(picture, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	rae := b.page(t, "rae")
	rae.signup(suite.front, pw)
	// A second session of rae in another browser context.
	other := b.page(t, "rae")
	other.open(suite.front)
	other.do("log in again",
		chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), "rae"),
		chromedp.SendKeys(chromedp.ID("login-password"), pw),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("app")),
	)
	other.waitOnline()

	rae.do("open settings", chromedp.Click(chromedp.ID("settings-open")), chromedp.WaitVisible(chromedp.ID("settings")))
	rae.waitJS("name loaded", `document.getElementById('profile-name').value === 'rae'`)
	rae.waitJS("two sessions listed", `document.querySelectorAll('#session-list li').length === 2`)

	// A display name of only spaces is refused; nothing changes.
	rae.do("bad name", chromedp.SetValue(chromedp.ID("profile-name"), "\u200b"), chromedp.Click(chromedp.ID("profile-save")))
	rae.waitJS("error shown", `document.getElementById('settings-error').textContent.includes('display_name')`)

	rae.do("good name and avatar",
		chromedp.SetValue(chromedp.ID("profile-name"), "Rae Q."),
		chromedp.SetUploadFiles(chromedp.ID("avatar-file"), []string{picture}),
		chromedp.Click(chromedp.ID("profile-save")),
	)
	rae.waitJS("profile saved", `document.getElementById('settings-msg').textContent === 'Profile saved.'`)
	rae.waitJS("avatar shown", `(() => { const i = document.getElementById('avatar-img'); return !i.hidden && i.complete && i.naturalWidth === 16; })()`)
	if ok := evalAsync[bool](rae, `fetch('/v1/users/rae', {headers: {Authorization: 'Bearer ' + JSON.parse(localStorage.getItem('sb.session')).token}})
		.then(r => r.json()).then(r => r.user.display_name === 'Rae Q.' && r.user.avatar !== undefined)`); !ok {
		t.Fatalf("the server does not show the new profile")
	}

	// Export: a zip downloaded through the page.
	rae.do("export", chromedp.Click(chromedp.ID("export")))
	rae.waitJS("export ready", `!document.getElementById('export-link').hidden`)
	rae.waitJS("export is a zip", `(() => { const a = document.getElementById('export-link');
		return a.type === 'application/zip' && Number(a.dataset.size) > 100 && a.download === 'switchboard-export.zip'; })()`)

	// A wrong current password is refused.
	rae.do("wrong password",
		chromedp.SetValue(chromedp.ID("pw-current"), "not the password"),
		chromedp.SetValue(chromedp.ID("pw-new"), "a brand new password"),
		chromedp.Click(chromedp.ID("pw-save")))
	rae.waitJS("refused", `document.getElementById('settings-error').textContent === 'The current password is wrong.'`)
	rae.do("right password",
		chromedp.SetValue(chromedp.ID("pw-current"), pw),
		chromedp.SetValue(chromedp.ID("pw-new"), "a brand new password"),
		chromedp.Click(chromedp.ID("pw-save")))
	rae.waitJS("changed", `document.getElementById('settings-msg').textContent.startsWith('Password changed')`)
	rae.waitJS("one session left", `document.querySelectorAll('#session-list li').length === 1`)
	// The other tab's socket was closed and its session ended: it signs out.
	other.waitJS("other tab signed out", `!document.getElementById('login').hidden`)

	// Delete the account.
	rae.do("accept the confirm", discard(chromedp.Evaluate[any](`window.confirm = () => true`)))
	rae.do("delete",
		chromedp.SetValue(chromedp.ID("delete-password"), "a brand new password"),
		chromedp.Click(chromedp.ID("delete-account")))
	rae.waitJS("signed out after deletion", `!document.getElementById('login').hidden && document.getElementById('settings').hidden`)
	rae.screenshot("deleted")
}
