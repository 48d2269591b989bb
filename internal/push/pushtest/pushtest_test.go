package pushtest_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/switchboard-chat/switchboard/internal/push/pushtest"
)

// tamper flips one byte of each request body's ciphertext.
type tamper struct{ at int }

func (t tamper) Do(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	if t.at > 0 && t.at < len(b) {
		b[t.at] ^= 1
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return http.DefaultClient.Do(r)
}

// TestServer: the service accepts what webpush-go sends and decrypts it;
// a flipped ciphertext byte, a bad key id, or a push signed with another
// VAPID key is refused.
func TestServer(t *testing.T) {
	priv, pub, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub, _ := webpush.GenerateVAPIDKeys()
	otherPriv, _, _ := webpush.GenerateVAPIDKeys()
	tests := []struct {
		name       string
		client     webpush.HTTPClient
		priv, pub  string
		wantStatus int
	}{
		{"valid", tamper{}, priv, pub, 201},
		{"ciphertext flipped", tamper{at: 200}, priv, pub, 400},
		{"key id flipped", tamper{at: 40}, priv, pub, 400},
		{"another VAPID key", tamper{}, otherPriv, otherPub, 403},
		{"signature by another key", tamper{}, otherPriv, pub, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pushtest.NewServer(t)
			s.ExpectKey(pub)
			sub := s.Subscribe(t, "dev")
			resp, err := webpush.SendNotification([]byte(`{"hello":"world"}`), &webpush.Subscription{
				Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Auth, P256dh: sub.P256dh},
			}, &webpush.Options{HTTPClient: tt.client, Subscriber: "mailto:t@example.com", TTL: 60,
				VAPIDPublicKey: tt.pub, VAPIDPrivateKey: tt.priv})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d; want %d (errors %v)", resp.StatusCode, tt.wantStatus, s.Errors())
			}
			got := s.Got()
			if tt.wantStatus == 201 && (len(got) != 1 || string(got[0].Payload) != `{"hello":"world"}`) {
				t.Errorf("got %+v; want the decrypted payload", got)
			}
			if tt.wantStatus != 201 && len(got) != 0 {
				t.Errorf("got %+v; want nothing accepted", got)
			}
		})
	}
}
