package chat

import (
	"context"
	"log/slog"
	"runtime"
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
	// Limiter, when set, holds the send limit across every node; a node
	// that cannot reach it falls back to its own count.
	Limiter RateLimiter
	MaxText int // default 4096
	// SignupRate and SignupBurst limit new accounts per client address
	// (per second; default 1 every 3 s after a burst of 20); a negative
	// rate turns the limit off, for load tests.
	SignupRate  float64
	SignupBurst int
	// HashConcurrency bounds the password hashes computed at once (default
	// 2 per CPU); a request waits HashWait (default 2s) for a slot.
	HashConcurrency int
	HashWait        time.Duration
	// MaxConnsPerUser bounds one user's open connections over the cluster
	// (default 100).
	MaxConnsPerUser int
	// CommonPassword reports a password too common to allow; nil allows all.
	CommonPassword func(string) bool
	Metrics        Metrics
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
	// Brakes on password guessing: per (username, client address), spent
	// before the password is checked and given back when it was right, so
	// only guesses count and parallel guesses cannot slip through; and per
	// client address over all usernames, spent by failures.
	logins     *limiter
	loginAddrs *limiter
	signups    *limiter // new accounts, per client address
	hashing    *hashSlots

	users   *Cache[string, User]         // username -> user (immutable fields only)
	directs *Cache[string, Conversation] // "a|b" -> their direct conversation
	blocked *Cache[blockPair, bool]      // whether blocker blocks user; block events clear it
	kinds   *Cache[string, string]       // conversation -> kind
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
	if cfg.SignupRate == 0 {
		cfg.SignupRate, cfg.SignupBurst = 1.0/3, 20
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = 2 * runtime.NumCPU()
	}
	if cfg.MaxConnsPerUser <= 0 {
		cfg.MaxConnsPerUser = 100
	}
	if cfg.HashWait <= 0 {
		cfg.HashWait = 2 * time.Second
	}
	return &Service{
		cfg:     cfg,
		log:     cfg.Logger,
		rt:      cfg.Runtime,
		limiter: newLimiter(cfg.SendRate, cfg.SendBurst),
		// Ten failed logins at once, then one every six seconds, per
		// username and address: enough for typos, too slow for guessing
		// passwords. One address gets fifty over all usernames, then one a
		// second, so spraying many accounts is as slow.
		logins:     newLimiter(1.0/6, 10),
		loginAddrs: newLimiter(1, 50),
		signups:    newLimiter(cfg.SignupRate, cfg.SignupBurst),
		hashing:    newHashSlots(cfg.HashConcurrency, cfg.HashWait),
		users:      NewCache[string, User](100_000, 0, cfg.Now),
		directs:    NewCache[string, Conversation](100_000, 0, cfg.Now),
		blocked:    NewCache[blockPair, bool](100_000, time.Minute, cfg.Now), // bounds staleness if a block event is lost
		kinds:      NewCache[string, string](100_000, 0, cfg.Now),
	}
}

// NodeID returns this node's id.
func (s *Service) NodeID() string { return s.rt.NodeID() }

// Start runs this node's runtime, delivering events to d, until ctx ends or
// Stop is called.
func (s *Service) Start(ctx context.Context, d Deliverer) {
	s.rt.Start(ctx, d, Hooks{Offline: s.wentOffline, Blocked: s.ForgetBlock})
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
