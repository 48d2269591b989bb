package chat

import (
	"context"
	"log/slog"
	"time"
)

// Config holds the rules' dependencies and limits. Store, Presence, Runtime,
// Hasher and NewID are required; zero limits take the defaults.
type Config struct {
	Store    Store
	Presence Presence
	Runtime  Runtime
	Hasher   PasswordHasher
	// Media looks up an uploaded object for a message; nil disables media.
	Media func(ctx context.Context, id string) (Media, error)
	// DeleteMedia removes an upload's bytes once no message carries it
	// (after a delete); nil keeps them.
	DeleteMedia func(ctx context.Context, id string) error
	// IsGrapheme reports whether s is one user-perceived character (one
	// extended grapheme cluster), for reactions. Required.
	IsGrapheme func(s string) bool

	NewID  func() string // globally unique, time-ordered
	Now    func() time.Time
	Logger *slog.Logger

	SessionTTL time.Duration // default 30 days
	SendRate   float64       // per user per second; 0 = no limit
	SendBurst  int
	MaxText    int // default 4096
	Metrics    Metrics
}

// Service holds the chat rules: who may do what, and what each request
// does. It knows nothing of the wire: the gateway and the HTTP API call it.
// It talks to the Store and Presence ports, and to this node's Runtime for
// everything that moves events or keeps state between requests.
type Service struct {
	cfg     Config
	log     *slog.Logger
	rt      Runtime
	limiter *limiter // sends, per user
	logins  *limiter // brake on failed logins, per username

	users   *Cache[string, User]         // username -> user (immutable fields only)
	directs *Cache[string, Conversation] // "a|b" -> their direct conversation
}

// NewService returns the rules; call Start before use.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.MaxText == 0 {
		cfg.MaxText = DefaultMaxText
	}
	return &Service{
		cfg:     cfg,
		log:     cfg.Logger,
		rt:      cfg.Runtime,
		limiter: newLimiter(cfg.SendRate, cfg.SendBurst),
		// Ten failed logins at once, then one every six seconds, per
		// username: enough for typos, too slow for guessing passwords.
		logins:  newLimiter(1.0/6, 10),
		users:   NewCache[string, User](100_000, 0, cfg.Now),
		directs: NewCache[string, Conversation](100_000, 0, cfg.Now),
	}
}

// NodeID returns this node's id.
func (s *Service) NodeID() string { return s.rt.NodeID() }

// Start runs this node's runtime, delivering events to d, until ctx ends or
// Stop is called.
func (s *Service) Start(ctx context.Context, d Deliverer) {
	s.rt.Start(ctx, d, Hooks{Offline: s.wentOffline})
}

// Stop finishes the messages already accepted and stops the write path.
// Call it after the gateway stopped submitting.
func (s *Service) Stop() { s.rt.Stop() }

func (s *Service) now() int64 { return s.cfg.Now().UnixMilli() }

func (s *Service) observe(op string, start time.Time) {
	if f := s.cfg.Metrics.StoreLatency; f != nil {
		f(op, s.cfg.Now().Sub(start))
	}
}
