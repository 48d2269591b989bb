package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// clickIn clicks the button matching sel inside the message showing text.
func (p *page) clickIn(text, sel string) {
	p.t.Helper()
	p.waitJS("click "+sel+" on "+text, `(() => {
		const li = `+msgsWith(text)+`[0];
		const b = li && li.querySelector(`+js(sel)+`);
		if (!b) return false;
		b.click();
		return true;
	})()`)
}

// A message's life in the browser: mention with completion, react, edit,
// reply with the quoted line, pin, delete, and a search whose result jumps
// to the message; each seen by the other side live.
func TestBrowserMessageLife(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	alice, bob := b.page(t, "lifea"), b.page(t, "lifeb")
	alice.signup(suite.front, pw)
	bob.signup(suite.front, pw)
	alice.startDirect("lifeb")
	alice.send("first draft of the plan")
	bob.openConv("lifea")
	bob.waitMessage("first draft of the plan")

	// Completion: "@li" offers lifeb; Tab takes it.
	alice.typeText("@li")
	alice.waitJS("mention offered", `(() => { const l = document.getElementById('mention-list'); return !l.hidden && l.textContent === '@lifeb'; })()`)
	alice.do("take the mention", chromedp.KeyEvent("\t"))
	alice.waitJS("mention completed", `document.getElementById('compose').value === '@lifeb '`)
	alice.typeText("please look\r")
	bob.waitMessage("@lifeb please look")
	bob.waitJS("mention marked", msgsWith("@lifeb please look")+`[0].classList.contains('mentions-me')`)

	// Bob reacts; alice sees the count.
	bob.clickIn("first draft of the plan", ".act-react")
	bob.clickIn("first draft of the plan", ".palette .emoji")
	alice.waitJS("reaction shown", msgsWith("first draft of the plan")+`[0].querySelector('.reaction')?.textContent === '\u{1F44D} 1'`)
	bob.waitJS("own reaction pressed", msgsWith("first draft of the plan")+`[0].querySelector('.reaction.mine')`)

	// Alice edits; bob sees the new text, marked edited, reaction kept.
	alice.clickIn("first draft of the plan", ".act-edit")
	alice.waitJS("edit form", `(() => { const a = document.querySelector('form.edit textarea'); if (!a) return false; a.value = 'final plan: ship friday'; return true; })()`)
	alice.waitJS("save the edit", `(() => { const b = document.querySelector('form.edit button[type=submit]'); if (!b) return false; b.click(); return true; })()`)
	bob.waitMessage("final plan: ship friday")
	bob.waitJS("edited mark", msgsWith("final plan: ship friday")+`[0].querySelector('.edited') && `+msgsWith("final plan: ship friday")+`[0].querySelector('.reaction')`)

	// Bob replies; alice sees the quoted line.
	bob.clickIn("final plan: ship friday", ".act-reply")
	bob.waitJS("reply bar", `!document.getElementById('reply-bar').hidden`)
	bob.send("agreed")
	alice.waitMessage("agreed")
	alice.waitJS("quoted", msgsWith("agreed")+`[0].querySelector('.quote')?.textContent === 'lifea: final plan: ship friday'`)
	bob.waitJS("reply bar closed", `document.getElementById('reply-bar').hidden`)

	// Alice pins; bob's pinned bar lists it.
	alice.clickIn("final plan: ship friday", ".act-pin")
	bob.waitJS("pinned bar", `(() => { const p = document.getElementById('pins'); return !p.hidden && p.textContent.includes('final plan: ship friday'); })()`)

	// Alice deletes her mention (two clicks); bob sees it go.
	alice.clickIn("@lifeb please look", ".act-delete")
	alice.clickIn("@lifeb please look", ".act-delete")
	bob.waitJS("deleted", `[...document.querySelectorAll('#messages li.msg.deleted')].some(li => li.querySelector('.text').textContent === 'This message was deleted')`)

	// Search finds the edited text (not the deleted one) and jumps to it.
	for i := 0; i < 30; i++ {
		bob.send("filler " + string(rune('a'+i%26)))
	}
	bob.do("search", chromedp.SendKeys(chromedp.ID("search-q"), "friday"), chromedp.Click(chromedp.ID("search-go")))
	bob.waitJS("one result", `document.querySelectorAll('#search-results .result').length === 1 && document.querySelector('#search-results .result-text').textContent === 'final plan: ship friday'`)
	bob.do("search deleted", chromedp.SetValue(chromedp.ID("search-q"), "look"), chromedp.Click(chromedp.ID("search-go")))
	bob.waitJS("deleted text not found", `document.querySelector('#search-results').textContent.startsWith('Nothing found')`)
	bob.do("search again", chromedp.SetValue(chromedp.ID("search-q"), "friday"), chromedp.Click(chromedp.ID("search-go")))
	bob.waitJS("result click", `(() => { const r = document.querySelector('#search-results .result'); if (!r) return false; r.click(); return true; })()`)
	bob.waitJS("jumped", msgsWith("final plan: ship friday")+`[0].classList.contains('highlight')`)
	bob.screenshot("life")
}
