package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// Two users chat over a running server (go run ./cmd/switchboard serve).
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const base = "http://127.0.0.1:8080"

	alice := client.New(base)
	if _, err := alice.Signup(ctx, "alice", "correct horse", "Alice"); err != nil && client.ErrorCode(err) != "conflict" {
		log.Fatal(err)
	}
	if _, err := alice.Login(ctx, "alice", "correct horse"); err != nil {
		log.Fatal(err)
	}
	bob := client.New(base)
	_, _ = bob.Signup(ctx, "bob", "battery staple", "")
	if _, err := bob.Login(ctx, "bob", "battery staple"); err != nil {
		log.Fatal(err)
	}

	bc, err := bob.Dial(ctx, "laptop")
	if err != nil {
		log.Fatal(err)
	}
	defer bc.Close()
	ac, err := alice.Dial(ctx, "phone")
	if err != nil {
		log.Fatal(err)
	}
	defer ac.Close()

	m, err := ac.Send(ctx, client.SendRequest{ToUser: "bob", Text: "hello"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored as seq", m.Seq)

	// Bob's pushed frames; a real client also watches Done and ctx.
	for f := range bc.Events() {
		if f.Type == wire.TypeMessage {
			fmt.Println(f.Msg.From, "says", f.Msg.Text)
			_ = bc.Receipt(ctx, f.Msg.Conversation, f.Msg.Seq, "read")
			break
		}
	}
}

// A load generator keeps many sends in flight on one connection and handles
// pushed frames in a callback, without a goroutine per connection.
func ExampleConn_SendAsync() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", client.WithSessionToken("TOKEN"))
	var tr client.Tracker
	conn, err := c.Dial(ctx, "bench", client.OnEvent(func(_ *client.Conn, f wire.ServerFrame) {
		if f.Type == wire.TypeMessage {
			if dup, gap := tr.Observe(*f.Msg); dup || gap {
				log.Printf("conversation %s: dup=%v gap=%v at seq %d", f.Msg.Conversation, dup, gap, f.Msg.Seq)
			}
		}
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	for i := range 100 {
		err := conn.SendAsync(client.SendRequest{Conversation: "CONV_ID", Text: fmt.Sprint("n", i)},
			func(m wire.Message, err error) {
				if err != nil {
					log.Print(err)
				}
			})
		if err != nil {
			log.Fatal(err)
		}
	}
}

// After a reconnect, sync from the cursors a Tracker kept.
func ExampleTracker() {
	var tr client.Tracker
	for _, seq := range []int64{1, 2, 4, 2} {
		dup, gap := tr.Observe(wire.Message{Conversation: "c1", Seq: seq})
		fmt.Printf("seq %d: dup=%v gap=%v\n", seq, dup, gap)
	}
	fmt.Println("sync from", tr.Cursors())
	// Output:
	// seq 1: dup=false gap=false
	// seq 2: dup=false gap=false
	// seq 4: dup=false gap=true
	// seq 2: dup=true gap=false
	// sync from map[c1:2]
}
