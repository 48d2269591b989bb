package wire

import (
	encjson "encoding/json"
	"reflect"
	"testing"

	"github.com/segmentio/encoding/json"
)

func ptr[T any](v T) *T { return &v }

// serverFrames are frames of every shape the server sends whose keys are
// shared between shapes ("message", "user", "online").
var serverFrames = []struct {
	name string
	f    ServerFrame
	json string
}{
	{"message push", ServerFrame{Type: TypeMessage, Msg: &Message{ID: "m1", Conversation: "c1", Seq: 7, From: "ann", TS: 1700000000000, Text: "hi"}},
		`{"type":"message","message":{"id":"m1","conversation":"c1","seq":7,"from":"ann","ts":1700000000000,"text":"hi"}}`},
	{"error text", ServerFrame{Type: TypeError, ID: "3", Code: "rate_limited", Message: "slow down"},
		`{"type":"error","id":"3","code":"rate_limited","message":"slow down"}`},
	{"ready with user object", ServerFrame{Type: TypeReady, User: &User{ID: "u1", Username: "ann", DisplayName: "Ann"}, Node: "n1"},
		`{"type":"ready","node":"n1","user":{"id":"u1","username":"ann","display_name":"Ann"}}`},
	{"event with username", ServerFrame{Type: TypeTyping, Conversation: "c1", UserName: "bob"},
		`{"type":"typing","conversation":"c1","user":"bob"}`},
	{"presence online flag", ServerFrame{Type: TypePresence, UserName: "bob", Online: ptr(false), LastSeen: ptr(int64(5))},
		`{"type":"presence","last_seen":5,"user":"bob","online":false}`},
	{"room online count", ServerFrame{Type: TypeAck, ID: "9", OnlineCount: ptr(0), OnlineUsers: []string{"ann"}},
		`{"type":"ack","id":"9","online_users":["ann"],"online":0}`},
	{"update with rev", ServerFrame{Type: TypeUpdate, Conversation: "c1", Rev: 4, Msg: &Message{ID: "m1", Seq: 7, Rev: 4, Deleted: true}},
		`{"type":"update","rev":4,"conversation":"c1","message":{"id":"m1","conversation":"","seq":7,"from":"","ts":0,"text":"","rev":4,"deleted":true}}`},
}

func TestServerFrameRoundTrip(t *testing.T) {
	for _, tc := range serverFrames {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.json {
				t.Errorf("encoded\n %s\nwant\n %s", b, tc.json)
			}
			var got ServerFrame
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.f) {
				t.Errorf("decoded %+v\nwant %+v", got, tc.f)
			}
			// The standard library reads what the server writes the same way
			// (browsers and other clients are not bound to this package).
			var std ServerFrame
			if err := encjson.Unmarshal(b, &std); err != nil || !reflect.DeepEqual(std, tc.f) {
				t.Errorf("encoding/json decoded %+v, %v", std, err)
			}
		})
	}
}

func TestServerFrameDecodeErrors(t *testing.T) {
	for _, in := range []string{
		``, `{`, `[]`, `{"type":1}`, `{"type":"message","message":{"seq":"x"}}`,
		`{"type":"presence","online":"yes"}`, `{"type":"ready","user":[1]}`, `{"type":"x","message":12}`,
	} {
		var f ServerFrame
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("%q decoded without an error: %+v", in, f)
		}
	}
	// A frame decoded into a used value leaves nothing of the old one.
	f := ServerFrame{Msg: &Message{ID: "old"}, UserName: "old", Online: ptr(true)}
	if err := json.Unmarshal([]byte(`{"type":"error","message":"x"}`), &f); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, ServerFrame{Type: "error", Message: "x"}) {
		t.Errorf("reused frame: %+v", f)
	}
}

func TestServerFramePushShortcut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{"type":"message","message":{"id":"m","seq":3,"text":"}"}}`, true},
		{`{"type":"message", "message":{"id":"m","seq":3}}`, false},
		{`{"type":"message","message":{"id":"m","seq":3},"rev":2}`, false},
		{`{"message":{"id":"m","seq":3},"type":"message"}`, false},
		{`{"type":"message","message":"text"}`, false},
		{`{"type":"message","message":{"seq":"x"}}`, false},
		{`{"type":"message","message":{}}`, true},
	} {
		var fast, slow ServerFrame
		if got := fast.decodePush([]byte(tc.in)); got != tc.fast {
			t.Errorf("%s: shortcut taken %v; want %v", tc.in, got, tc.fast)
		}
		errSlow := slow.decodeAny([]byte(tc.in))
		var f ServerFrame
		err := json.Unmarshal([]byte(tc.in), &f)
		if (err == nil) != (errSlow == nil) || !reflect.DeepEqual(f, slow) {
			t.Errorf("%s: decoded %+v, %v; the general decoder %+v, %v", tc.in, f, err, slow, errSlow)
		}
	}
}

func TestServerFrameEncodeShortcut(t *testing.T) {
	msg := &Message{ID: "m<1>", Conversation: "c&1", Seq: 7, From: "ann", TS: 1, Text: "a \"b\" <c> & \u2028 é",
		Reactions: []Reaction{{Emoji: "👍", Count: 2, Users: []string{"bob", "<x>"}}}, Mentions: []string{"bob"},
		Media: &Media{ID: "md", ContentType: "image/png", Size: 9}}
	for _, tc := range []struct {
		name string
		f    ServerFrame
		fast bool
	}{
		{"push", ServerFrame{Type: TypeMessage, Msg: msg}, true},
		{"ack of a send", ServerFrame{Type: TypeAck, ID: "4\"<", Msg: msg}, true},
		{"ack without a message", ServerFrame{Type: TypeAck, ID: "4"}, false},
		{"update", ServerFrame{Type: TypeUpdate, Msg: msg, Rev: 3, Conversation: "c"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, ok := tc.f.encodeShort()
			if ok != tc.fast {
				t.Fatalf("shortcut taken %v; want %v", ok, tc.fast)
			}
			general, err := tc.f.encodeAny()
			if err != nil {
				t.Fatal(err)
			}
			if ok && string(fast) != string(general) {
				t.Errorf("shortcut\n %s\ngeneral\n %s", fast, general)
			}
		})
	}
	// Any field other than type, id and message set takes the general
	// path, including fields added after this test was written.
	v := reflect.ValueOf(&ServerFrame{}).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Type" || name == "ID" || name == "Msg" {
			continue
		}
		f := ServerFrame{Type: TypeMessage, Msg: msg}
		fv := reflect.ValueOf(&f).Elem().Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("x")
		case reflect.Int64, reflect.Int:
			fv.SetInt(1)
		case reflect.Pointer, reflect.Slice:
			fv.Set(reflect.New(fv.Type()).Elem())
			if fv.Kind() == reflect.Pointer {
				fv.Set(reflect.New(fv.Type().Elem()))
			} else {
				fv.Set(reflect.MakeSlice(fv.Type(), 1, 1))
			}
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", name, fv.Kind())
		}
		if _, ok := f.encodeShort(); ok {
			t.Errorf("with %s set the shortcut was taken", name)
		}
	}
}

func FuzzServerFrame(f *testing.F) {
	for _, tc := range serverFrames {
		f.Add([]byte(tc.json))
	}
	f.Add([]byte(`{"type":"message","message":{"id":"m","seq":1},"code":"x"}`))
	f.Add([]byte(`{"type":"message","message":{"seq":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The message-push shortcut decodes what it takes as the general
		// decoder would.
		var fast ServerFrame
		if fast.decodePush(b) {
			var slow ServerFrame
			if err := slow.decodeAny(b); err != nil || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%q: shortcut %+v, general %+v, %v", b, fast, slow, err)
			}
		}
		var fr ServerFrame
		if json.Unmarshal(b, &fr) != nil {
			return
		}
		out, err := json.Marshal(fr)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", b, err)
		}
		// The encoding shortcut writes what the general encoder writes.
		if fast, ok := fr.encodeShort(); ok {
			if general, err := fr.encodeAny(); err != nil || string(fast) != string(general) {
				t.Fatalf("%q: shortcut %s, general %s, %v", b, fast, general, err)
			}
		}
		// Decoding what was encoded and encoding it again changes nothing
		// (an empty list and an absent one are the same frame).
		var again ServerFrame
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%q -> %s: %v", b, out, err)
		}
		if out2, _ := json.Marshal(again); string(out2) != string(out) {
			t.Fatalf("%q -> %s -> %s", b, out, out2)
		}
	})
}

// BenchmarkServerFrameDecode is what a client pays per pushed message.
func BenchmarkServerFrameDecode(b *testing.B) {
	in, _ := json.Marshal(serverFrames[0].f)
	for b.Loop() {
		var f ServerFrame
		if err := json.Unmarshal(in, &f); err != nil || f.Msg == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerFrameUnmarshal is the Go client's own call (it calls
// UnmarshalJSON, skipping json.Unmarshal's scan of the whole frame first).
func BenchmarkServerFrameUnmarshal(b *testing.B) {
	in, _ := json.Marshal(serverFrames[0].f)
	for b.Loop() {
		var f ServerFrame
		if err := f.UnmarshalJSON(in); err != nil || f.Msg == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerFrameEncode is what the server pays per frame it encodes.
func BenchmarkServerFrameEncode(b *testing.B) {
	for b.Loop() {
		if _, err := json.Marshal(serverFrames[0].f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerFrameMarshal is the server's own call (the gateway calls
// MarshalJSON, skipping json.Marshal's check of a Marshaler's output).
func BenchmarkServerFrameMarshal(b *testing.B) {
	for _, name := range []string{"push", "general"} {
		b.Run(name, func(b *testing.B) {
			f := serverFrames[0].f
			for b.Loop() {
				var err error
				if name == "push" {
					_, err = f.MarshalJSON()
				} else {
					_, err = f.encodeAny()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
