package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// TestHistoryFromTheStart pages a 1,000-message conversation forward from
// after=0, over raw HTTP and through the Go client: every message, in
// order, once. Without after (or before) the answer is the newest page.
func TestHistoryFromTheStart(t *testing.T) {
	const n = 1000
	s := startServer(t)
	wes, xia := user(t, s, "wes"), user(t, s, "xia")
	ms := sendMany(t, dial(t, wes, "web"), client.SendRequest{ToUser: "xia", Text: "m"}, n)
	conv := ms[0].Conversation

	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	t.Run("raw HTTP", func(t *testing.T) {
		var got []int64
		for after, pages := int64(0), 0; pages <= n; pages++ {
			page := rawHistory(t, s, xia.Token(), fmt.Sprintf("%s/v1/conversations/%s/messages?after=%d&limit=200", s.URL, conv, after))
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				got = append(got, m.Seq)
			}
			after = page[len(page)-1].Seq
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged %d messages from after=0, first %v; want 1..%d", len(got), got[:min(3, len(got))], n)
		}
		if newest := rawHistory(t, s, xia.Token(), s.URL+"/v1/conversations/"+conv+"/messages?limit=5"); len(newest) != 5 || newest[0].Seq != n-4 {
			t.Fatalf("newest page = %v; want seqs %d..%d", newest, n-4, n)
		}
	})
	t.Run("client", func(t *testing.T) {
		var got []int64
		q := client.HistoryQuery{Forward: true, Limit: 173}
		for pages := 0; pages <= n; pages++ {
			page, err := xia.Messages(ctxT(t), conv, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				got = append(got, m.Seq)
			}
			q.After = page[len(page)-1].Seq
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged %d messages; want 1..%d", len(got), n)
		}
	})
	t.Run("before and after", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+"/v1/conversations/"+conv+"/messages?after=0&before=10", nil)
		req.Header.Set("Authorization", "Bearer "+xia.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("status %d; want 400", resp.StatusCode)
		}
	})
}

func rawHistory(t *testing.T, s *testServer, token, url string) []wire.Message {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	var out wire.MessagesResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Messages
}
