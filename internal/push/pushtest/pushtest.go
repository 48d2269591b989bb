// Package pushtest is a push service for tests: an HTTP server speaking
// RFC 8030 that checks each push's VAPID JWT (RFC 8292, ES256 against the
// key it carries, and that key against the one expected) and decrypts the
// payload with the subscription's private key (RFC 8291, aes128gcm), so
// broken signing or encryption fails a test.
package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Push is one push the service accepted, decrypted.
type Push struct {
	Subscription string // the name given to Subscribe
	Payload      []byte
	TTL, Topic   string
	Urgency      string
}

// Subscription is what a browser would hand the server.
type Subscription struct {
	Name     string
	Endpoint string
	P256dh   string // base64url
	Auth     string // base64url
	priv     *ecdh.PrivateKey
	secret   []byte
}

// Server is the push service.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	subs     map[string]*Subscription
	script   map[string][]Reply // replies to give before accepting
	held     map[string]chan struct{}
	got      []Push
	errs     []error
	vapidKey string // the VAPID public key pushes must carry; "" accepts any valid one
}

// Reply is a scripted answer to a push.
type Reply struct {
	Status     int
	RetryAfter string
}

// NewServer starts a push service on the loopback, stopped at the test's
// end.
func NewServer(tb testing.TB) *Server {
	s := &Server{subs: make(map[string]*Subscription), script: make(map[string][]Reply), held: make(map[string]chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// ExpectKey makes the service refuse (403) pushes signed by another VAPID
// key than pub.
func (s *Server) ExpectKey(pub string) {
	s.mu.Lock()
	s.vapidKey = pub
	s.mu.Unlock()
}

// Subscribe makes a subscription: a P-256 key pair and an auth secret.
func (s *Server) Subscribe(tb testing.TB, name string) *Subscription {
	tb.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	sub := &Subscription{Name: name, Endpoint: s.srv.URL + "/push/" + name,
		P256dh: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(secret), priv: priv, secret: secret}
	s.mu.Lock()
	s.subs[name] = sub
	s.mu.Unlock()
	return sub
}

// Script makes the next pushes to name get replies, in order, before
// pushes are accepted again (201).
func (s *Server) Script(name string, replies ...Reply) {
	s.mu.Lock()
	s.script[name] = append(s.script[name], replies...)
	s.mu.Unlock()
}

// Hold makes the next push to name that is accepted wait for its answer
// until release is called (or its request ends): the push counts as
// accepted (Got has it) while its sender still waits, as when a node dies
// or stops between a push service taking a push and answering.
func (s *Server) Hold(name string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.held[name] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// Got returns the pushes accepted so far.
func (s *Server) Got() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.got...)
}

// Errors returns what was wrong with pushes refused for a bad signature,
// encryption or headers.
func (s *Server) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/push/")
	s.mu.Lock()
	sub := s.subs[name]
	key := s.vapidKey
	s.mu.Unlock()
	if r.Method != http.MethodPost || !ok || sub == nil {
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	body := make([]byte, 0, 8192)
	buf := bytes.NewBuffer(body)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 8192)); err != nil {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Errorf("read body: %w", err))
		return
	}
	if err := checkVAPID(r, "http://"+r.Host, key); err != nil {
		s.fail(w, http.StatusForbidden, err)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("TTL") == "" {
		s.fail(w, http.StatusBadRequest, fmt.Errorf("Content-Encoding %q, TTL %q", r.Header.Get("Content-Encoding"), r.Header.Get("TTL")))
		return
	}
	plain, err := Decrypt(buf.Bytes(), sub.priv, sub.secret)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err)
		return
	}
	s.mu.Lock()
	if q := s.script[name]; len(q) > 0 {
		reply := q[0]
		s.script[name] = q[1:]
		s.mu.Unlock()
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		w.WriteHeader(reply.Status)
		return
	}
	s.got = append(s.got, Push{Subscription: name, Payload: plain, TTL: r.Header.Get("TTL"),
		Topic: r.Header.Get("Topic"), Urgency: r.Header.Get("Urgency")})
	hold := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Location", s.srv.URL+"/message/1")
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) fail(w http.ResponseWriter, status int, err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	http.Error(w, err.Error(), status)
}

// checkVAPID verifies the "vapid t=JWT, k=KEY" Authorization header: an
// ES256 signature by KEY, aud the push service's origin, exp within 24 h.
func checkVAPID(r *http.Request, origin, wantKey string) error {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return errors.New("no vapid Authorization")
	}
	var token, key string
	for _, part := range strings.Split(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			token = v
		case "k":
			key = v
		}
	}
	if wantKey != "" && key != wantKey {
		return fmt.Errorf("VAPID key %q; want %q", key, wantKey)
	}
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return fmt.Errorf("VAPID key: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return fmt.Errorf("VAPID key: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("JWT is not three parts")
	}
	var header struct{ Alg, Typ string }
	var claims struct {
		Aud string
		Exp int64
		Sub string
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			return fmt.Errorf("JWT part %d is not base64url JSON", i)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("JWT signature is not 64 bytes")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if header.Alg != "ES256" || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("JWT signature does not verify (ES256)")
	}
	now := time.Now().Unix()
	if claims.Aud != origin || claims.Exp <= now || claims.Exp > now+24*3600 || claims.Sub == "" {
		return fmt.Errorf("JWT claims aud %q exp %d sub %q; want aud %q, exp within 24 h, a sub", claims.Aud, claims.Exp, claims.Sub, origin)
	}
	return nil
}

// Decrypt opens an aes128gcm body (RFC 8188) encrypted for the user agent
// key priv and auth secret (RFC 8291 section 3.4).
func Decrypt(body []byte, priv *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than its header")
	}
	salt, rs, idLen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idLen || idLen != 65 {
		return nil, fmt.Errorf("keyid is %d bytes; want the 65-byte sender key", idLen)
	}
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idLen])
	if err != nil {
		return nil, fmt.Errorf("sender key: %w", err)
	}
	record := body[21+idLen:]
	if uint32(len(record)) > rs {
		return nil, fmt.Errorf("one record of %d bytes over rs %d", len(record), rs)
	}
	shared, err := priv.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	keyInfo := "WebPush: info\x00" + string(priv.PublicKey().Bytes()) + string(asPub.Bytes())
	prkKey, err := hkdf.Extract(sha256.New, shared, authSecret)
	if err != nil {
		return nil, err
	}
	ikm, err := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// Padding: the last record ends with 0x02 and then zeros.
	end := bytes.LastIndexByte(plain, 2)
	if end < 0 || len(bytes.Trim(plain[end+1:], "\x00")) != 0 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}
