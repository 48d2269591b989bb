package web_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserLinkRetriesAtOnce drives the browser client's Link (socket.js)
// in a real page with a stand-in WebSocket and a recording setTimeout, so
// no time passes: after a dial that fails (the socket never opened, as when
// the node behind the balancer died) the next dial is planned at once (0
// ms), and only a second failure in a row backs off.
func TestBrowserLinkRetriesAtOnce(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	p := b.page(t, "link")
	p.open(suite.front)
	const script = `(async () => {
  const { Link } = await import('/socket.js');
  const sockets = [], timers = [];
  class FakeWS {
    constructor(url) { this.url = url; this.readyState = 0; sockets.push(this); }
    send() {}
    close() { this.readyState = 3; }
  }
  FakeWS.OPEN = 1;
  const real = { ws: window.WebSocket, st: window.setTimeout, ct: window.clearTimeout };
  window.WebSocket = FakeWS;
  window.setTimeout = (fn, ms) => { timers.push({ fn, ms }); return timers.length; };
  window.clearTimeout = () => {};
  try {
    const link = new Link({ token: 't', device: 'd', onReady() {}, onFrame() {}, onState() {}, onAuthFailed() {} });
    link.start();
    const s0 = sockets[0];
    s0.readyState = 1;
    s0.onopen();
    s0.onmessage({ data: JSON.stringify({ type: 'ready', id: 'auth' }) });
    const lastDelay = () => timers[timers.length - 1].ms;
    const fire = () => timers[timers.length - 1].fn();
    s0.onclose({ code: 1006 });          // an open link drops: a planned retry
    const afterDrop = lastDelay();
    fire();                              // that retry dials ...
    sockets[sockets.length - 1].onclose({ code: 1006 }); // ... and is refused
    const afterFailedDial = lastDelay();
    fire();                              // the next dial, at once ...
    const dialsSoFar = sockets.length;
    sockets[sockets.length - 1].onclose({ code: 1006 }); // ... refused too
    const afterSecondFailure = lastDelay();
    link.stop();
    return JSON.stringify({ afterDrop, afterFailedDial, afterSecondFailure, dialsSoFar });
  } finally {
    window.WebSocket = real.ws; window.setTimeout = real.st; window.clearTimeout = real.ct;
  }
})()`
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ AfterDrop, AfterFailedDial, AfterSecondFailure, DialsSoFar int }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if got.AfterDrop <= 0 || got.AfterFailedDial != 0 || got.AfterSecondFailure <= 0 || got.DialsSoFar != 3 {
		t.Fatalf("planned delays %+v; want a backoff after the drop, 0 ms after a failed dial, a backoff after the second failure in a row, 3 dials", got)
	}
}
