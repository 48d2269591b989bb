package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// post sends a JSON body with optional headers and returns the status, the
// error code and the Retry-After header.
func post(t *testing.T, url string, body any, headers map[string]string) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb wire.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb.Error.Code, resp.Header.Get("Retry-After")
}

func TestLoginBrakeHoldsAgainstParallelGuesses(t *testing.T) {
	s := startServer(t)
	user(t, s, "vera")
	var mu sync.Mutex
	got := map[int]int{}
	var retry string
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, ra := post(t, s.URL+"/v1/sessions", map[string]string{"username": "vera", "password": "a wrong guess"}, nil)
			mu.Lock()
			got[status]++
			if status == http.StatusTooManyRequests {
				retry = ra
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[http.StatusUnauthorized] != 10 || got[http.StatusTooManyRequests] != 30 {
		t.Fatalf("statuses %v; want 10 guesses checked (401) and 30 refused (429)", got)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 {
		t.Fatalf("Retry-After %q on a refused login", retry)
	}
	// The owner, behind the balancer with another client address, gets in.
	status, code, _ := post(t, s.URL+"/v1/sessions", map[string]string{"username": "vera", "password": "password-vera"},
		map[string]string{"X-Real-IP": "198.51.100.20"})
	if status != http.StatusCreated {
		t.Fatalf("the owner from another address: %d %s", status, code)
	}
}

func TestSignupLimitPerAddress(t *testing.T) {
	s := startServer(t, "--signup-rate", "1", "--signup-burst", "3")
	signup := func(name, addr string) (int, string, string) {
		return post(t, s.URL+"/v1/users", map[string]string{"username": name, "password": "a long password"},
			map[string]string{"X-Real-IP": addr})
	}
	for i := range 3 {
		if status, code, _ := signup(fmt.Sprintf("new%d", i), "198.51.100.1"); status != http.StatusCreated {
			t.Fatalf("signup %d: %d %s", i, status, code)
		}
	}
	status, code, retry := signup("new3", "198.51.100.1")
	if status != http.StatusTooManyRequests || code != "rate_limited" || retry == "" {
		t.Fatalf("fourth signup from one address: %d %s Retry-After %q", status, code, retry)
	}
	if status, code, _ := signup("new3", "198.51.100.2"); status != http.StatusCreated {
		t.Fatalf("another address: %d %s", status, code)
	}
}

func TestWeakPasswordsAndDisguisedNames(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name string
		body map[string]string
	}{
		{"a common password", map[string]string{"username": "wendy", "password": "password1"}},
		{"a password of spaces", map[string]string{"username": "wendy", "password": "          "}},
		{"a Kelvin sign in the username", map[string]string{"username": "\u212Aate", "password": "a long password"}},
		{"NUL in the display name", map[string]string{"username": "wendy", "password": "a long password", "display_name": "wen\x00dy"}},
		{"a bidi override in the display name", map[string]string{"username": "wendy", "password": "a long password", "display_name": "admin\u202Egnp"}},
		{"a zero-width space in the display name", map[string]string{"username": "wendy", "password": "a long password", "display_name": "ad\u200Bmin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, _ := post(t, s.URL+"/v1/users", tc.body, nil)
			if status != http.StatusBadRequest || code != "bad_request" {
				t.Fatalf("got %d %s; want 400 bad_request", status, code)
			}
		})
	}
	// Nothing was created by them: the name is still free.
	if status, code, _ := post(t, s.URL+"/v1/users", map[string]string{"username": "wendy", "password": "a long password"}, nil); status != http.StatusCreated {
		t.Fatalf("signup after the refusals: %d %s", status, code)
	}
}

// A user connected to several nodes shares one send budget, not one per
// node.
func TestClusterSendLimitIsShared(t *testing.T) {
	nodes := startCluster(t, 3, "--send-rate", "0.05", "--send-burst", "6")
	ada := user(t, nodes[0], "ada")
	user(t, nodes[0], "bea")
	var conns []*client.Conn
	for i, s := range nodes {
		conns = append(conns, dial(t, on(ada, s), fmt.Sprintf("dev%d", i)))
	}
	sent := 0
	for round := range 4 {
		for _, c := range conns {
			_, err := c.Send(ctxT(t), client.SendRequest{ToUser: "bea", Text: fmt.Sprint(round)})
			switch client.ErrorCode(err) {
			case "":
				sent++
			case "rate_limited":
			default:
				t.Fatal(err)
			}
		}
	}
	if sent != 6 {
		t.Fatalf("%d of 12 sends over 3 nodes accepted; want the one burst of 6", sent)
	}
}
