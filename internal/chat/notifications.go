package chat

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
)

// Limits of Web Push subscriptions.
const (
	MaxPushEndpoint      = 2048 // bytes of a subscription's endpoint URL
	MaxPushSubscriptions = 20   // per user; one more is refused
)

// PushSubscription is one browser's (or device's) Web Push subscription
// (RFC 8030): where to POST and the keys to encrypt for (RFC 8291).
type PushSubscription struct {
	Endpoint  string
	UserID    string
	P256dh    string // the user agent's P-256 public key, base64url
	Auth      string // its 16-byte auth secret, base64url
	Device    string
	CreatedAt int64
}

// PushJob is one push waiting to go: one message to one subscription.
type PushJob struct {
	ID           int64
	MessageID    string
	Subscription PushSubscription
	Payload      []byte // the JSON the service worker gets
	Topic        string // collapses a conversation's pending pushes
	DueAt        int64  // Unix ms: not before (the presence grace, a retry's backoff)
	Attempts     int    // claims so far, this one included
}

// PushBatch asks for a message to be pushed to every subscription of
// UserIDs.
type PushBatch struct {
	MessageID string
	UserIDs   []string
	Payload   []byte
	Topic     string
	DueAt     int64
}

// PushStore keeps VAPID keys, subscriptions, the push outbox and the
// durable push queue. Both stores implement it; the Service finds it on
// its Store.
type PushStore interface {
	// VAPIDKeys returns the cluster's VAPID key pair, storing priv and pub
	// first if none is stored: every node signs with the first pair kept.
	VAPIDKeys(ctx context.Context, priv, pub string) (string, string, error)
	// PutSubscription stores s, replacing a subscription with the same
	// endpoint (whoever held it). ETooLarge if its user would hold more
	// than max; ENotFound if the user does not exist.
	PutSubscription(ctx context.Context, s PushSubscription, max int) error
	// DeleteSubscription removes userID's subscription at endpoint (any
	// user's if userID is ""), and its queued pushes. ENotFound if none.
	DeleteSubscription(ctx context.Context, userID, endpoint string) error
	// EnqueuePushes queues one job per subscription of b.UserIDs; a
	// (message, subscription) already queued is not queued again.
	EnqueuePushes(ctx context.Context, b PushBatch) (int, error)
	// ClaimOutbox leases up to limit outbox entries due at now (see
	// PushOutboxEntry) until now+lease, counting an attempt on each; an
	// entry whose lease ran out (its node died) is due again. Concurrent
	// claimers never get the same entry.
	ClaimOutbox(ctx context.Context, now, lease int64, limit int) ([]PushOutboxEntry, error)
	// HandOffPushes removes b.MessageID's outbox entry and, in the same
	// transaction, queues b's jobs as EnqueuePushes does. If the entry is
	// no longer there (another claimer handed it off first) it queues
	// nothing and returns false: a message's pushes are queued once, even
	// if its jobs were already sent and finished.
	HandOffPushes(ctx context.Context, b PushBatch) (queued int, handed bool, err error)
	// PushOutboxDepth counts the outbox entries.
	PushOutboxDepth(ctx context.Context) (int, error)
	// ClaimPushes leases up to limit due jobs until now+lease, counting an
	// attempt on each; a job whose lease ran out (its node died) is due
	// again. Concurrent claimers never get the same job.
	ClaimPushes(ctx context.Context, now, lease int64, limit int) ([]PushJob, error)
	// FinishPush removes a job once sent or given up.
	FinishPush(ctx context.Context, id int64) error
	// RetryPush releases a job to be claimed again at dueAt.
	RetryPush(ctx context.Context, id int64, dueAt int64) error
	// PushQueueDepth counts the queued jobs.
	PushQueueDepth(ctx context.Context) (int, error)
}

// PushPayload is what a push carries to the service worker. Text is only
// there when previews are on.
type PushPayload struct {
	Conversation string `json:"conversation"`
	Seq          int64  `json:"seq"`
	From         string `json:"from"`
	Text         string `json:"text,omitempty"`
}

func (s *Service) pushStore() (PushStore, error) {
	ps, ok := s.cfg.Store.(PushStore)
	if !ok {
		return nil, Errorf(EUnavailable, "this store does not keep push subscriptions")
	}
	return ps, nil
}

// Subscribe stores a Web Push subscription of sess's user. allowHTTP
// accepts http:// endpoints (for a push service on a test network).
func (s *Service) Subscribe(ctx context.Context, sess Session, sub PushSubscription, allowHTTP bool) error {
	ps, err := s.pushStore()
	if err != nil {
		return err
	}
	if err := checkSubscription(sub, allowHTTP); err != nil {
		return err
	}
	sub.UserID, sub.CreatedAt = sess.UserID, s.now()
	if err := ps.PutSubscription(ctx, sub, MaxPushSubscriptions); err != nil {
		if ErrorCode(err) == ETooLarge {
			return Errorf(ETooLarge, "a user may hold at most %d push subscriptions", MaxPushSubscriptions)
		}
		return err
	}
	return nil
}

// Unsubscribe removes sess's user's subscription at endpoint. ENotFound.
func (s *Service) Unsubscribe(ctx context.Context, sess Session, endpoint string) error {
	ps, err := s.pushStore()
	if err != nil {
		return err
	}
	if endpoint == "" {
		return Errorf(EBadRequest, "endpoint is required")
	}
	if err := ps.DeleteSubscription(ctx, sess.UserID, endpoint); ErrorCode(err) == ENotFound {
		return Errorf(ENotFound, "no such subscription")
	} else {
		return err
	}
}

func checkSubscription(sub PushSubscription, allowHTTP bool) error {
	if sub.Endpoint == "" || len(sub.Endpoint) > MaxPushEndpoint {
		return Errorf(EBadRequest, "endpoint is required, at most %d bytes", MaxPushEndpoint)
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil || u.Host == "" || u.User != nil || !(u.Scheme == "https" || allowHTTP && u.Scheme == "http") {
		return Errorf(EBadRequest, "endpoint must be an https URL")
	}
	if k, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sub.P256dh, "=")); err != nil || len(k) != 65 || k[0] != 4 {
		return Errorf(EBadRequest, "keys.p256dh must be an uncompressed P-256 public key, base64url")
	}
	if a, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(sub.Auth, "=")); err != nil || len(a) != 16 {
		return Errorf(EBadRequest, "keys.auth must be 16 bytes, base64url")
	}
	if len(sub.Device) > 64 {
		return Errorf(EBadRequest, "device is at most 64 bytes")
	}
	return nil
}

// pushTopic is a conversation's Topic header: at most 32 characters of the
// URL-safe base64 alphabet (RFC 8030 section 5.4).
func pushTopic(convID string) string {
	var b strings.Builder
	for _, r := range convID {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		}
	}
	t := b.String()
	if len(t) > 32 {
		t = t[len(t)-32:]
	}
	return t
}

// PushWanted reports whether a due job should still go out: its user has
// no live connection on any node.
func (s *Service) PushWanted(ctx context.Context, j PushJob) (bool, error) {
	on, err := s.cfg.Presence.Online(ctx, []string{j.Subscription.UserID})
	if err != nil {
		return false, err
	}
	return !on[j.Subscription.UserID], nil
}
