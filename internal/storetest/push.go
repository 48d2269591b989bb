package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func (f *fixture) push(t *testing.T) chat.PushStore {
	t.Helper()
	ps, ok := f.s.(chat.PushStore)
	if !ok {
		t.Fatalf("%T does not implement chat.PushStore", f.s)
	}
	return ps
}

func (f *fixture) subscribe(t *testing.T, u chat.User, endpoint string) chat.PushSubscription {
	t.Helper()
	sub := chat.PushSubscription{Endpoint: endpoint, UserID: u.ID, P256dh: "p-" + endpoint, Auth: "a-" + endpoint, Device: "dev", CreatedAt: f.ts()}
	if err := f.push(t).PutSubscription(f.ctx, sub, 10); err != nil {
		t.Fatalf("PutSubscription(%s): %v", endpoint, err)
	}
	return sub
}

// testVAPIDKeys: the first pair stored is the one every caller gets.
func testVAPIDKeys(t *testing.T, f *fixture) {
	ps := f.push(t)
	for i, give := range []string{"first", "second"} {
		priv, pub, err := ps.VAPIDKeys(f.ctx, give+"-priv", give+"-pub")
		if err != nil || priv != "first-priv" || pub != "first-pub" {
			t.Errorf("VAPIDKeys #%d = %q, %q, %v; want the first pair", i+1, priv, pub, err)
		}
	}
}

// testPushSubscriptions: upsert by endpoint, the per-user limit, delete
// by owner only, unknown user.
func testPushSubscriptions(t *testing.T, f *fixture) {
	ps := f.push(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	f.subscribe(t, alice, "https://push.example/1")
	f.subscribe(t, alice, "https://push.example/1") // the same endpoint again: no new row
	f.subscribe(t, alice, "https://push.example/2")
	err := ps.PutSubscription(f.ctx, chat.PushSubscription{Endpoint: "https://push.example/3", UserID: alice.ID, CreatedAt: f.ts()}, 2)
	wantCode(t, "PutSubscription over the limit", err, chat.ETooLarge)
	err = ps.PutSubscription(f.ctx, chat.PushSubscription{Endpoint: "https://push.example/1", UserID: alice.ID, P256dh: "new", CreatedAt: f.ts()}, 2)
	if err != nil {
		t.Errorf("PutSubscription(update at the limit) = %v; want nil", err)
	}
	err = ps.PutSubscription(f.ctx, chat.PushSubscription{Endpoint: "https://push.example/9", UserID: "nobody", CreatedAt: f.ts()}, 2)
	wantCode(t, "PutSubscription(unknown user)", err, chat.ENotFound)

	wantCode(t, "DeleteSubscription(someone else's)", ps.DeleteSubscription(f.ctx, bob.ID, "https://push.example/1"), chat.ENotFound)
	if err := ps.DeleteSubscription(f.ctx, alice.ID, "https://push.example/1"); err != nil {
		t.Errorf("DeleteSubscription: %v", err)
	}
	wantCode(t, "DeleteSubscription(again)", ps.DeleteSubscription(f.ctx, alice.ID, "https://push.example/1"), chat.ENotFound)
	if err := ps.DeleteSubscription(f.ctx, "", "https://push.example/2"); err != nil {
		t.Errorf("DeleteSubscription(any user): %v", err)
	}
}

// testPushQueue: one job per subscription, deduplicated per message; due
// jobs claimed once, leases expire, retries wait; deleting a subscription
// drops its jobs.
func testPushQueue(t *testing.T, f *fixture) {
	ps := f.push(t)
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	f.subscribe(t, alice, "https://push.example/a1")
	f.subscribe(t, alice, "https://push.example/a2")
	f.subscribe(t, bob, "https://push.example/b1")
	b := chat.PushBatch{MessageID: "m1", UserIDs: []string{alice.ID, bob.ID, carol.ID}, Payload: []byte(`{"seq":1}`), Topic: "conv1", DueAt: 100}
	for i, want := range []int{3, 0} {
		n, err := ps.EnqueuePushes(f.ctx, b)
		if err != nil || n != want {
			t.Fatalf("EnqueuePushes #%d = %d, %v; want %d", i+1, n, err, want)
		}
	}
	if n, err := ps.PushQueueDepth(f.ctx); n != 3 || err != nil {
		t.Errorf("PushQueueDepth = %d, %v; want 3", n, err)
	}
	if jobs, err := ps.ClaimPushes(f.ctx, 99, 1000, 10); err != nil || len(jobs) != 0 {
		t.Errorf("ClaimPushes before due = %d jobs, %v; want none", len(jobs), err)
	}
	jobs, err := ps.ClaimPushes(f.ctx, 100, 1000, 10)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("ClaimPushes = %d jobs, %v; want 3", len(jobs), err)
	}
	var eps []string
	for _, j := range jobs {
		eps = append(eps, j.Subscription.Endpoint)
		if j.MessageID != "m1" || string(j.Payload) != `{"seq":1}` || j.Topic != "conv1" || j.Attempts != 1 || j.Subscription.P256dh != "p-"+j.Subscription.Endpoint {
			t.Errorf("job = %+v", j)
		}
	}
	sort.Strings(eps)
	if fmt.Sprint(eps) != "[https://push.example/a1 https://push.example/a2 https://push.example/b1]" {
		t.Errorf("claimed endpoints %v", eps)
	}
	if again, _ := ps.ClaimPushes(f.ctx, 500, 1000, 10); len(again) != 0 {
		t.Errorf("ClaimPushes while leased = %d jobs; want none", len(again))
	}
	if err := ps.FinishPush(f.ctx, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := ps.RetryPush(f.ctx, jobs[1].ID, 5000); err != nil {
		t.Fatal(err)
	}
	// At 1100 the third job's lease ran out (its claimer died): due again.
	expired, err := ps.ClaimPushes(f.ctx, 1100, 100_000, 10)
	if err != nil || len(expired) != 1 || expired[0].ID != jobs[2].ID || expired[0].Attempts != 2 {
		t.Errorf("ClaimPushes after the lease = %+v, %v; want job %d on its 2nd attempt", expired, err, jobs[2].ID)
	}
	retried, err := ps.ClaimPushes(f.ctx, 5000, 1000, 10)
	if err != nil || len(retried) != 1 || retried[0].ID != jobs[1].ID {
		t.Errorf("ClaimPushes at the retry = %+v, %v; want job %d", retried, err, jobs[1].ID)
	}
	if err := ps.DeleteSubscription(f.ctx, "", jobs[1].Subscription.Endpoint); err != nil {
		t.Fatal(err)
	}
	if err := ps.DeleteSubscription(f.ctx, "", jobs[2].Subscription.Endpoint); err != nil {
		t.Fatal(err)
	}
	if n, err := ps.PushQueueDepth(f.ctx); n != 0 || err != nil {
		t.Errorf("PushQueueDepth after deleting the subscriptions = %d, %v; want 0", n, err)
	}
}

// testPushClaimConcurrent: concurrent claimers never get the same job.
func testPushClaimConcurrent(t *testing.T, f *fixture) {
	ps := f.push(t)
	alice := f.user(t, "alice")
	f.subscribe(t, alice, "https://push.example/a")
	for i := range 50 {
		if _, err := ps.EnqueuePushes(f.ctx, chat.PushBatch{MessageID: fmt.Sprint("m", i), UserIDs: []string{alice.ID}, Payload: []byte("{}"), DueAt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	seen := claimConcurrently(t, func() ([]int64, error) {
		jobs, err := ps.ClaimPushes(f.ctx, 10, 1_000_000, 3)
		ids := make([]int64, len(jobs))
		for i, j := range jobs {
			ids[i] = j.ID
		}
		return ids, err
	})
	if len(seen) != 50 {
		t.Errorf("%d distinct jobs claimed; want 50", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
}

// claimConcurrently runs five claimers of claim until one gets nothing,
// and counts how often each key was claimed.
func claimConcurrently[K comparable](t *testing.T, claim func() ([]K, error)) map[K]int {
	var mu sync.Mutex
	seen := map[K]int{}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				keys, err := claim()
				if err != nil {
					t.Error(err)
					return
				}
				if len(keys) == 0 {
					return
				}
				mu.Lock()
				for _, k := range keys {
					seen[k]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return seen
}
