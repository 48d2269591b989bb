package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Config holds the core's dependencies and limits. Store, Presence, Bus,
// Hasher, NodeID and NewID are required; zero limits take the defaults.
type Config struct {
	Store    Store
	Presence Presence
	Bus      Bus
	Hasher   PasswordHasher
	// Media looks up an uploaded object for a message; nil disables media.
	Media func(ctx context.Context, id string) (Media, error)

	NodeID string
	NewID  func() string // globally unique, time-ordered
	Now    func() time.Time
	Logger *slog.Logger

	SessionTTL    time.Duration // default 30 days
	PresenceGrace time.Duration // default 5s
	SendRate      float64       // per user per second; 0 = no limit
	SendBurst     int
	MaxText       int // default 4096
	MaxBatch      int // messages per store transaction, default 512
	MemberCache   time.Duration
	// LargeGroup is the member count above which a group's events travel
	// on its topic (when the Bus is a TopicBus) instead of one envelope per
	// node with recipients. 0 turns topics off.
	LargeGroup int
	// ReorderWait is how long a node holds a pushed message whose
	// predecessor has not reached it yet (default 1s); see sequencer.
	ReorderWait time.Duration
	Metrics     Metrics
}

// Service holds the chat rules. It knows nothing of the wire: the gateway and
// the HTTP API call it, and it talks to Store, Presence and Bus.
type Service struct {
	cfg     Config
	log     *slog.Logger
	limiter *limiter
	logins  *limiter // brake on failed logins, per username

	deliverer Deliverer
	order     *sequencer // puts message pushes in seq order per conversation
	topics    TopicBus   // nil when large-group topics are off

	queue    chan *pending
	dispatch chan []*pending
	stopOnce sync.Once
	writers  sync.WaitGroup // the write path, which Stop drains

	mu       sync.Mutex
	members  map[string]memberEntry // convID -> cached members
	epoch    uint64                 // bumped by every invalidation of members
	directs  map[string]Conversation
	users    map[string]User // username -> user (immutable fields only)
	presence map[string]*userPresence
	subs     map[string]int // large group -> local online members subscribed
}

type memberEntry struct {
	members []Member
	set     map[string]bool
	at      time.Time
}

type userPresence struct {
	conns   int
	pending *time.Timer // offline announcement waiting out the grace period
	groups  []string    // large groups whose topics this user keeps subscribed
}

// ConnInfo identifies the connection a request came from.
type ConnInfo struct {
	UserID   string
	Username string
	ConnID   string
	Session  string
}

type pending struct {
	append Append
	conn   ConnInfo
	done   func(Message, error)
}

// NewService returns a core; call Start before use.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.PresenceGrace == 0 {
		cfg.PresenceGrace = 5 * time.Second
	}
	if cfg.MaxText == 0 {
		cfg.MaxText = DefaultMaxText
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 512
	}
	if cfg.ReorderWait == 0 {
		cfg.ReorderWait = time.Second
	}
	if cfg.MemberCache == 0 {
		cfg.MemberCache = 30 * time.Second
	}
	topics, _ := cfg.Bus.(TopicBus)
	if cfg.LargeGroup <= 0 {
		topics = nil
	}
	return &Service{
		topics:  topics,
		subs:    make(map[string]int),
		cfg:     cfg,
		log:     cfg.Logger,
		limiter: newLimiter(cfg.SendRate, cfg.SendBurst),
		// Ten failed logins at once, then one every six seconds, per
		// username: enough for typos, too slow for guessing passwords.
		logins:   newLimiter(1.0/6, 10),
		queue:    make(chan *pending, 8192),
		dispatch: make(chan []*pending, 64),
		members:  make(map[string]memberEntry),
		directs:  make(map[string]Conversation),
		users:    make(map[string]User),
		presence: make(map[string]*userPresence),
	}
}

// NodeID returns this node's id.
func (s *Service) NodeID() string { return s.cfg.NodeID }

// Start runs the write path and the bus consumer, delivering events to d,
// until ctx ends or Stop is called.
func (s *Service) Start(ctx context.Context, d Deliverer) {
	s.deliverer = d
	s.order = newSequencer(s.cfg.ReorderWait, d.Deliver)
	s.writers.Add(2)
	go func() { defer s.writers.Done(); s.writeLoop() }()
	go func() { defer s.writers.Done(); s.dispatchLoop() }()
	// The bus consumer runs until ctx ends, after Stop, so that events for
	// the writes Stop finishes still reach other nodes.
	go func() {
		for ctx.Err() == nil {
			err := s.cfg.Bus.Run(ctx, s.onBusEvent)
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("bus consumer stopped; restarting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

// Stop finishes the messages already accepted and stops the write path.
// Call it after the gateway stopped submitting.
func (s *Service) Stop() {
	s.stopOnce.Do(func() { close(s.queue) })
	s.writers.Wait()
}

func (s *Service) now() int64 { return s.cfg.Now().UnixMilli() }

func (s *Service) observe(op string, start time.Time) {
	if f := s.cfg.Metrics.StoreLatency; f != nil {
		f(op, time.Since(start))
	}
}

// ---- accounts

// Signup creates an account.
func (s *Service) Signup(ctx context.Context, username, password, displayName string) (User, error) {
	name, err := NormalizeName("username", username)
	if err != nil {
		return User{}, err
	}
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return User{}, Errorf(EBadRequest, "password must be %d to %d bytes", MinPasswordLen, MaxPasswordLen)
	}
	if displayName == "" {
		displayName = name
	}
	if err := checkText(EBadRequest, "display_name", displayName, MaxDisplayName); err != nil {
		return User{}, err
	}
	hash, err := s.cfg.Hasher.Hash(password)
	if err != nil {
		return User{}, err
	}
	u := User{ID: s.cfg.NewID(), Username: name, DisplayName: displayName, CreatedAt: s.now()}
	if err := s.cfg.Store.CreateUser(ctx, u, hash); err != nil {
		if ErrorCode(err) == EConflict {
			return User{}, Errorf(EConflict, "username %q is taken", name)
		}
		return User{}, err
	}
	return u, nil
}

// Login checks a password and opens a session. The returned token is shown
// once; only its hash is stored.
func (s *Service) Login(ctx context.Context, username, password string) (string, Session, User, error) {
	bad := Errorf(EUnauthorized, "wrong username or password")
	name, err := NormalizeName("username", username)
	if err != nil {
		return "", Session{}, User{}, bad
	}
	if !s.logins.ready(name, s.cfg.Now()) {
		return "", Session{}, User{}, Errorf(ERateLimited, "too many login attempts for %q; wait a few seconds", name)
	}
	u, hash, err := s.cfg.Store.UserByName(ctx, name)
	if ErrorCode(err) == ENotFound {
		return "", Session{}, User{}, bad
	} else if err != nil {
		return "", Session{}, User{}, err
	}
	ok, err := s.cfg.Hasher.Verify(hash, password)
	if err != nil {
		return "", Session{}, User{}, err
	}
	if !ok {
		s.logins.allow(name, s.cfg.Now()) // only failures spend the budget
		return "", Session{}, User{}, bad
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Session{}, User{}, err
	}
	token := "sb_" + base64.RawURLEncoding.EncodeToString(raw)
	now := s.cfg.Now()
	sess := Session{
		ID:        s.cfg.NewID(),
		TokenHash: hashToken(token),
		UserID:    u.ID,
		Username:  u.Username,
		CreatedAt: now.UnixMilli(),
		ExpiresAt: now.Add(s.cfg.SessionTTL).UnixMilli(),
	}
	if err := s.cfg.Store.CreateSession(ctx, sess); err != nil {
		return "", Session{}, User{}, err
	}
	return token, sess, u, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the live session of a bearer token. Any node can
// check any token: the session lives in the shared store.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, Errorf(EUnauthorized, "missing token")
	}
	start := time.Now()
	sess, err := s.cfg.Store.SessionByTokenHash(ctx, hashToken(token))
	s.observe("session", start)
	if ErrorCode(err) == ENotFound {
		return Session{}, Errorf(EUnauthorized, "invalid or revoked token")
	} else if err != nil {
		return Session{}, err
	}
	if sess.ExpiresAt <= s.now() {
		return Session{}, Errorf(EUnauthorized, "token expired")
	}
	return sess, nil
}

// User returns the account of a user id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	return s.cfg.Store.UserByID(ctx, id)
}

// Logout ends a session on every node and closes its connections.
func (s *Service) Logout(ctx context.Context, sess Session) error {
	if err := s.cfg.Store.DeleteSession(ctx, sess.ID); err != nil {
		return err
	}
	if err := s.cfg.Bus.Broadcast(ctx, &Event{Kind: EventRevoke, SessionID: sess.ID}); err != nil {
		s.log.Warn("broadcast revoke", "err", err)
	}
	return nil
}

// userByName resolves a username through a cache of the immutable fields.
func (s *Service) userByName(ctx context.Context, username string) (User, error) {
	name, err := NormalizeName("username", username)
	if err != nil {
		return User{}, Errorf(ENotFound, "no user %q", username)
	}
	s.mu.Lock()
	u, ok := s.users[name]
	s.mu.Unlock()
	if ok {
		return u, nil
	}
	u, _, err = s.cfg.Store.UserByName(ctx, name)
	if ErrorCode(err) == ENotFound {
		return User{}, Errorf(ENotFound, "no user %q", name)
	} else if err != nil {
		return User{}, err
	}
	u.LastSeen = 0
	s.mu.Lock()
	if len(s.users) > 100_000 {
		clear(s.users)
	}
	s.users[name] = u
	s.mu.Unlock()
	return u, nil
}

// Profile returns a user with its presence.
func (s *Service) Profile(ctx context.Context, username string) (PresenceInfo, User, error) {
	u, err := s.userByName(ctx, username)
	if err != nil {
		return PresenceInfo{}, User{}, err
	}
	ps, err := s.presenceOf(ctx, []User{u})
	if err != nil {
		return PresenceInfo{}, User{}, err
	}
	return ps[0], u, nil
}

// Presence returns the presence of the named users. Unknown names are an
// ENotFound error.
func (s *Service) Presence(ctx context.Context, usernames []string) ([]PresenceInfo, error) {
	if len(usernames) > 1000 {
		return nil, Errorf(ETooLarge, "at most 1000 users at once")
	}
	us := make([]User, 0, len(usernames))
	for _, n := range usernames {
		u, err := s.userByName(ctx, n)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return s.presenceOf(ctx, us)
}

func (s *Service) presenceOf(ctx context.Context, us []User) ([]PresenceInfo, error) {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	online, err := s.cfg.Presence.Online(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]PresenceInfo, len(us))
	for i, u := range us {
		full, err := s.cfg.Store.UserByID(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		out[i] = PresenceInfo{UserID: u.ID, Username: u.Username, Online: online[u.ID], LastSeen: full.LastSeen}
	}
	return out, nil
}

// ---- groups and conversations

// CreateGroup creates a group with the caller as its first member.
func (s *Service) CreateGroup(ctx context.Context, sess Session, name, title string) (ConversationState, error) {
	n, err := NormalizeName("group name", name)
	if err != nil {
		return ConversationState{}, err
	}
	if title == "" {
		title = n
	}
	if err := checkText(EBadRequest, "title", title, MaxGroupTitle); err != nil {
		return ConversationState{}, err
	}
	c := Conversation{ID: s.cfg.NewID(), Kind: KindGroup, Name: n, Title: title, CreatedAt: s.now()}
	if err := s.cfg.Store.CreateGroup(ctx, c, sess.UserID); err != nil {
		if ErrorCode(err) == EConflict {
			return ConversationState{}, Errorf(EConflict, "group %q exists", n)
		}
		return ConversationState{}, err
	}
	return ConversationState{Conversation: c}, nil
}

func (s *Service) groupByName(ctx context.Context, name string) (Conversation, error) {
	n, err := NormalizeName("group name", name)
	if err != nil {
		return Conversation{}, err
	}
	c, err := s.cfg.Store.GroupByName(ctx, n)
	if ErrorCode(err) == ENotFound {
		return Conversation{}, Errorf(ENotFound, "no group %q", n)
	}
	return c, err
}

// JoinGroup makes the caller a member of the named group. Joining a group
// one is in already is not an error.
func (s *Service) JoinGroup(ctx context.Context, sess Session, name string) (ConversationState, error) {
	c, err := s.groupByName(ctx, name)
	if err != nil {
		return ConversationState{}, err
	}
	added, err := s.cfg.Store.AddMember(ctx, c.ID, sess.UserID, s.now())
	if err != nil {
		return ConversationState{}, err
	}
	if added {
		s.memberChanged(ctx, c.ID, sess, MemberJoined, nil)
	}
	return s.cfg.Store.ConversationState(ctx, c.ID, sess.UserID)
}

// LeaveGroup removes the caller from the named group.
func (s *Service) LeaveGroup(ctx context.Context, sess Session, name string) error {
	c, err := s.groupByName(ctx, name)
	if err != nil {
		return err
	}
	removed, err := s.cfg.Store.RemoveMember(ctx, c.ID, sess.UserID)
	if err != nil {
		return err
	}
	if !removed {
		return Errorf(ENotFound, "you are not a member of %q", c.Name)
	}
	s.memberChanged(ctx, c.ID, sess, MemberLeft, []string{sess.UserID})
	return nil
}

// memberChanged drops every node's cached member list and tells the members
// (and extra, such as the one who left) about the change.
func (s *Service) memberChanged(ctx context.Context, convID string, sess Session, event string, extra []string) {
	s.forgetMembers(convID)
	ms, err := s.membersOf(ctx, convID)
	if err != nil {
		s.log.Warn("members after change", "conv", convID, "err", err)
		return
	}
	ev := &Event{Kind: EventMember, Member: &MemberEvent{ConversationID: convID, UserID: sess.UserID, Username: sess.Username, Event: event, Members: len(ms.members)}}
	ev.Recipients = append(memberIDs(ms.members), extra...)
	// Broadcast, not route: every node must drop its cached member list.
	if err := s.cfg.Bus.Broadcast(ctx, ev); err != nil {
		s.log.Warn("broadcast member event", "err", err)
	}
}

// MemberState is a member as other members see it: online state and the
// delivered and read positions that drive message ticks.
type MemberState struct {
	Member
	Online bool
}

// GroupMembers lists a group's members; only members may ask.
func (s *Service) GroupMembers(ctx context.Context, sess Session, name string) ([]MemberState, error) {
	c, err := s.groupByName(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.ConversationMembers(ctx, sess, c.ID)
}

// ConversationMembers lists the members of a conversation of any kind, with
// their positions and online state; only members may ask.
func (s *Service) ConversationMembers(ctx context.Context, sess Session, convID string) ([]MemberState, error) {
	if _, err := s.cfg.Store.ConversationState(ctx, convID, sess.UserID); err != nil {
		return nil, err
	}
	ms, err := s.cfg.Store.Members(ctx, convID)
	if err != nil {
		return nil, err
	}
	online, err := s.cfg.Presence.Online(ctx, memberIDs(ms))
	if err != nil {
		return nil, err
	}
	out := make([]MemberState, len(ms))
	for i, m := range ms {
		out[i] = MemberState{Member: m, Online: online[m.UserID]}
	}
	return out, nil
}

// Conversations lists the caller's conversations.
func (s *Service) Conversations(ctx context.Context, sess Session) ([]ConversationState, error) {
	return s.cfg.Store.UserConversations(ctx, sess.UserID)
}

// History returns a page of a conversation's messages, ascending by seq.
func (s *Service) History(ctx context.Context, sess Session, convID string, q HistoryQuery) ([]Message, error) {
	if q.After < 0 || q.Before < 0 || q.Limit < 0 {
		return nil, Errorf(EBadRequest, "before, after and limit must not be negative")
	}
	if q.After > 0 && q.Before > 0 {
		return nil, Errorf(EBadRequest, "give before or after, not both")
	}
	if q.Limit == 0 {
		q.Limit = DefaultHistoryPage
	}
	if q.Limit > MaxHistoryLimit {
		return nil, Errorf(EBadRequest, "limit is at most %d", MaxHistoryLimit)
	}
	if _, err := s.cfg.Store.ConversationState(ctx, convID, sess.UserID); err != nil {
		return nil, err
	}
	return s.cfg.Store.Messages(ctx, convID, q)
}

// membersOf returns a conversation's members through a short-lived cache
// that membership changes clear on every node.
func (s *Service) membersOf(ctx context.Context, convID string) (memberEntry, error) {
	s.mu.Lock()
	e, ok := s.members[convID]
	s.mu.Unlock()
	if ok && time.Since(e.at) < s.cfg.MemberCache {
		return e, nil
	}
	s.mu.Lock()
	epoch := s.epoch
	s.mu.Unlock()
	start := time.Now()
	ms, err := s.cfg.Store.Members(ctx, convID)
	s.observe("members", start)
	if err != nil {
		return memberEntry{}, err
	}
	e = memberEntry{members: ms, set: make(map[string]bool, len(ms)), at: time.Now()}
	for _, m := range ms {
		e.set[m.UserID] = true
	}
	s.mu.Lock()
	// A read that overlapped an invalidation may predate the change it
	// announced: use it, but do not cache it.
	if s.epoch == epoch {
		if len(s.members) > 10_000 {
			clear(s.members)
		}
		s.members[convID] = e
	}
	s.mu.Unlock()
	return e, nil
}

func (s *Service) forgetMembers(convID string) {
	s.mu.Lock()
	s.epoch++
	delete(s.members, convID)
	s.mu.Unlock()
}

// requireMember returns the members of convID, or ENotFound / EForbidden.
func (s *Service) requireMember(ctx context.Context, convID, userID string) (memberEntry, error) {
	if convID == "" {
		return memberEntry{}, Errorf(EBadRequest, "conversation is required")
	}
	e, err := s.membersOf(ctx, convID)
	if err != nil {
		return memberEntry{}, err
	}
	if e.set[userID] {
		return e, nil
	}
	if len(e.members) == 0 {
		if _, err := s.cfg.Store.Conversation(ctx, convID); ErrorCode(err) == ENotFound {
			return memberEntry{}, Errorf(ENotFound, "no conversation %q", convID)
		} else if err != nil {
			return memberEntry{}, err
		}
	}
	return memberEntry{}, Errorf(EForbidden, "you are not a member of conversation %q", convID)
}

func memberIDs(ms []Member) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	return ids
}

// ---- messages

// SendRequest is a client's message.
type SendRequest struct {
	ClientMsgID  string
	ToUser       string
	Conversation string
	Text         string
	MediaID      string
}

// Send validates a message and queues it for the group-committed write
// path. done is called once, after the commit (or with the error), from the
// write path's goroutine, in the order messages were submitted: it must not
// block.
func (s *Service) Send(ctx context.Context, c ConnInfo, req SendRequest, done func(Message, error)) {
	a, err := s.prepare(ctx, c, req)
	if err != nil {
		done(Message{}, err)
		return
	}
	p := &pending{append: Append{Message: a}, conn: c, done: done}
	defer func() {
		// The queue is closed at shutdown; a late sender gets unavailable.
		if recover() != nil {
			done(Message{}, Errorf(EUnavailable, "node is shutting down"))
		}
	}()
	select {
	case s.queue <- p:
	case <-ctx.Done():
		done(Message{}, Errorf(EUnavailable, "request cancelled"))
	}
}

func (s *Service) prepare(ctx context.Context, c ConnInfo, req SendRequest) (Message, error) {
	if (req.ToUser == "") == (req.Conversation == "") {
		return Message{}, Errorf(EBadRequest, "give exactly one of to_user and conversation")
	}
	if err := checkText(ETooLarge, "text", req.Text, s.cfg.MaxText); err != nil {
		return Message{}, err
	}
	if req.Text == "" && req.MediaID == "" {
		return Message{}, Errorf(EBadRequest, "a message needs text or media_id")
	}
	if len(req.ClientMsgID) > MaxClientMsgID {
		return Message{}, Errorf(EBadRequest, "client_msg_id is at most %d bytes", MaxClientMsgID)
	}
	if !s.limiter.allow(c.UserID, s.cfg.Now()) {
		return Message{}, Errorf(ERateLimited, "sending too fast; slow down")
	}
	convID := req.Conversation
	if req.ToUser != "" {
		conv, err := s.direct(ctx, c.UserID, req.ToUser)
		if err != nil {
			return Message{}, err
		}
		convID = conv.ID
	} else if _, err := s.requireMember(ctx, convID, c.UserID); err != nil {
		return Message{}, err
	}
	m := Message{
		ID:             s.cfg.NewID(),
		ConversationID: convID,
		SenderID:       c.UserID,
		Sender:         c.Username,
		TS:             s.now(),
		Text:           req.Text,
		ClientMsgID:    req.ClientMsgID,
	}
	if req.MediaID != "" {
		if s.cfg.Media == nil {
			return Message{}, Errorf(EBadRequest, "media is not enabled on this server")
		}
		md, err := s.cfg.Media(ctx, req.MediaID)
		if ErrorCode(err) == ENotFound {
			return Message{}, Errorf(ENotFound, "no media %q", req.MediaID)
		} else if err != nil {
			return Message{}, err
		}
		if md.UploaderID != c.UserID {
			return Message{}, Errorf(EForbidden, "only the uploader may attach media %q", req.MediaID)
		}
		m.Media = &md
	}
	return m, nil
}

// direct returns the direct conversation between userID and the named peer.
func (s *Service) direct(ctx context.Context, userID, peerName string) (Conversation, error) {
	peer, err := s.userByName(ctx, peerName)
	if err != nil {
		return Conversation{}, err
	}
	a, b := userID, peer.ID
	if b < a {
		a, b = b, a
	}
	key := a + "|" + b
	s.mu.Lock()
	c, ok := s.directs[key]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err = s.cfg.Store.DirectConversation(ctx, s.cfg.NewID(), a, b, s.now())
	if err != nil {
		return Conversation{}, err
	}
	s.mu.Lock()
	if len(s.directs) > 100_000 {
		clear(s.directs)
	}
	s.directs[key] = c
	s.mu.Unlock()
	return c, nil
}

// writeLoop takes queued messages and commits them in batches: concurrent
// senders share one transaction (group commit).
func (s *Service) writeLoop() {
	defer close(s.dispatch)
	for p := range s.queue {
		batch := []*pending{p}
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case q, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, q)
			default:
				break fill
			}
		}
		appends := make([]*Append, len(batch))
		for i, q := range batch {
			appends[i] = &q.append
		}
		start := time.Now()
		// The write must finish even if the client has gone: its message may
		// be committed, and its retry must then find it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.cfg.Store.AppendMessages(ctx, appends)
		cancel()
		s.observe("append", start)
		if f := s.cfg.Metrics.BatchSize; f != nil {
			f(len(batch))
		}
		if err != nil {
			s.log.Error("append batch", "n", len(batch), "err", err)
			code := ErrorCode(err)
			if code == EInternal {
				code = EUnavailable
			}
			for _, q := range batch {
				q.append.Err = Errorf(code, "message not stored: %s", ErrorMessage(err))
			}
		}
		s.dispatch <- batch
	}
}

// dispatchLoop acks and fans out committed messages in commit order, so
// every connection sees a conversation's messages in seq order.
func (s *Service) dispatchLoop() {
	ctx := context.Background()
	for batch := range s.dispatch {
		// Ack the whole batch first: a sender's ack need not wait for the
		// fan-out of the messages committed with it.
		for _, p := range batch {
			if a := &p.append; a.Err != nil {
				p.done(Message{}, a.Err)
			} else {
				p.done(a.Result, nil)
			}
		}
		for _, p := range batch {
			a := &p.append
			if a.Err != nil || a.Duplicate {
				continue
			}
			if f := s.cfg.Metrics.MessageSent; f != nil {
				f()
			}
			e, err := s.membersOf(ctx, a.Result.ConversationID)
			if err != nil {
				s.log.Warn("fan-out members", "err", err)
				continue
			}
			m := a.Result
			s.fanOut(ctx, &Event{Kind: EventMessage, Message: &m, ExceptConn: p.conn.ConnID}, e, memberIDs(e.members))
		}
	}
}

// route delivers ev to the online users among recipients: local ones
// directly, others with one bus envelope per node that holds any of them.
func (s *Service) route(ctx context.Context, ev *Event, recipients []string) {
	byNode, err := s.cfg.Presence.Locate(ctx, recipients)
	if err != nil {
		s.log.Warn("locate recipients", "err", err)
		// Still reach this node's users; the others sync.
		byNode = map[string][]string{s.cfg.NodeID: recipients}
	}
	s.log.Debug("route", "kind", ev.Kind, "recipients", len(recipients), "nodes", len(byNode))
	for node, users := range byNode {
		e := *ev
		e.Recipients = users
		if node == s.cfg.NodeID {
			s.deliver(&e)
			continue
		}
		if err := s.cfg.Bus.Send(ctx, node, &e); err != nil {
			s.log.Warn("bus send", "node", node, "err", err)
		}
	}
}

// fanOut sends an event of conversation e to recipients: one topic publish
// for a large group, else routed by node.
func (s *Service) fanOut(ctx context.Context, ev *Event, e memberEntry, recipients []string) {
	if s.topics == nil || len(e.members) <= s.cfg.LargeGroup {
		s.route(ctx, ev, recipients)
		return
	}
	if err := s.topics.PublishTopic(ctx, eventConversation(ev), ev); err != nil {
		// At most once, like every bus send: members see the gap and sync.
		s.log.Warn("topic publish", "err", err)
	}
}

// eventConversation returns the conversation an event belongs to, if any.
func eventConversation(ev *Event) string {
	switch {
	case ev.Message != nil:
		return ev.Message.ConversationID
	case ev.Receipt != nil:
		return ev.Receipt.ConversationID
	case ev.Typing != nil:
		return ev.Typing.ConversationID
	case ev.Member != nil:
		return ev.Member.ConversationID
	}
	return ""
}

// onBusEvent handles an event from another node (or a broadcast).
func (s *Service) onBusEvent(ev *Event) {
	ctx := context.Background()
	if ev.Kind == EventResync {
		// The cluster link was down and may have lost this node's presence
		// entries: publish them again before clients sync, or pushes sent
		// between their sync and the next periodic refresh would be lost.
		if r, ok := s.cfg.Presence.(PresenceRefresher); ok {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := r.Refresh(rctx); err != nil {
				s.log.Warn("presence refresh after resync", "err", err)
			}
			cancel()
		}
	}
	if ev.Kind == EventMember && ev.Member != nil {
		s.forgetMembers(ev.Member.ConversationID)
		s.memberTopics(ctx, ev.Member)
	}
	if len(ev.Recipients) == 0 {
		switch ev.Kind {
		case EventMessage, EventReceipt, EventTyping:
			// A topic event: this node's online members are its recipients.
			e, err := s.membersOf(ctx, eventConversation(ev))
			if err != nil {
				s.log.Warn("topic event members", "err", err)
				return
			}
			ev.Recipients = memberIDs(e.members)
		}
	}
	s.deliver(ev)
}

// deliver hands ev to this node's connections, message pushes in seq order.
func (s *Service) deliver(ev *Event) {
	if ev.Kind == EventMessage && ev.Message != nil {
		s.order.push(ev)
		return
	}
	s.deliverer.Deliver(ev)
}

// ---- large-group topics: a node subscribes to a large group's topic while
// at least one of its online users is a member.

// largeGroupsOf returns the large groups userID is a member of.
func (s *Service) largeGroupsOf(ctx context.Context, userID string) ([]string, error) {
	convs, err := s.cfg.Store.UserConversations(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range convs {
		if c.Kind != KindGroup {
			continue
		}
		e, err := s.membersOf(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if len(e.members) > s.cfg.LargeGroup {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// subscribe counts one more local member online in each group, subscribing
// to the topics that had none. Call with s.mu held.
func (s *Service) subscribe(ctx context.Context, groups []string) {
	for _, g := range groups {
		s.subs[g]++
		if s.subs[g] == 1 {
			if err := s.topics.SubscribeTopic(ctx, g); err != nil {
				s.log.Warn("subscribe topic", "group", g, "err", err)
			}
		}
	}
}

// unsubscribe undoes subscribe. Call with s.mu held.
func (s *Service) unsubscribe(ctx context.Context, groups []string) {
	for _, g := range groups {
		s.subs[g]--
		if s.subs[g] <= 0 {
			delete(s.subs, g)
			if err := s.topics.UnsubscribeTopic(ctx, g); err != nil {
				s.log.Warn("unsubscribe topic", "group", g, "err", err)
			}
		}
	}
}

// memberTopics keeps topic subscriptions right when membership changes: a
// local online user who joins or leaves a large group, or a group that has
// just grown large while members of it are online here.
func (s *Service) memberTopics(ctx context.Context, m *MemberEvent) {
	if s.topics == nil {
		return
	}
	s.mu.Lock()
	p := s.presence[m.UserID]
	joinerHere := p != nil && p.conns > 0
	s.mu.Unlock()
	// Most member events need nothing here: only a local online user's own
	// change, or a group that has just become large, changes subscriptions.
	crossed := m.Event == MemberJoined && m.Members == s.cfg.LargeGroup+1
	if !joinerHere && !crossed {
		return
	}
	e, err := s.membersOf(ctx, m.ConversationID)
	if err != nil {
		s.log.Warn("member topics", "err", err)
		return
	}
	large := len(e.members) > s.cfg.LargeGroup
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Event == MemberLeft {
		if p := s.presence[m.UserID]; p != nil {
			if i := indexOf(p.groups, m.ConversationID); i >= 0 {
				p.groups = append(p.groups[:i], p.groups[i+1:]...)
				s.unsubscribe(ctx, []string{m.ConversationID})
			}
		}
		return
	}
	if !large {
		return
	}
	// Joined: the joiner, and on crossing the threshold everyone, may need it.
	for id, p := range s.presence {
		if p.conns > 0 && e.set[id] && indexOf(p.groups, m.ConversationID) < 0 {
			p.groups = append(p.groups, m.ConversationID)
			s.subscribe(ctx, []string{m.ConversationID})
		}
	}
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// Sync pushes, through push and in seq order, every message after each
// cursor (a conversation not named starts at the caller's read position), at
// most MaxSyncPerConv per conversation, and returns the conversations.
// Cursors for conversations the caller is not in are ignored.
func (s *Service) Sync(ctx context.Context, c ConnInfo, cursors map[string]int64, push func(Message) error) ([]ConversationState, error) {
	convs, err := s.cfg.Store.UserConversations(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	for _, cs := range convs {
		after, ok := cursors[cs.ID]
		if !ok {
			after = cs.ReadSeq
		}
		if after < 0 {
			return nil, Errorf(EBadRequest, "cursor for %q is negative", cs.ID)
		}
		sent := 0
		for after < cs.LastSeq && sent < MaxSyncPerConv {
			limit := min(MaxHistoryLimit, MaxSyncPerConv-sent)
			// The page right after the cursor, even when the cursor is 0
			// (After: 0 alone would mean the newest page).
			ms, err := s.cfg.Store.Messages(ctx, cs.ID, HistoryQuery{Before: after + int64(limit) + 1, Limit: limit})
			if err != nil {
				return nil, err
			}
			if len(ms) == 0 || ms[len(ms)-1].Seq <= after {
				break
			}
			for _, m := range ms {
				if m.Seq <= after {
					continue // the page reaches below the cursor when few lie above it
				}
				if err := push(m); err != nil {
					return nil, err
				}
				after = m.Seq
				sent++
			}
		}
	}
	return convs, nil
}

// Receipt moves the caller's delivered or read position and tells the
// members when it moved.
func (s *Service) Receipt(ctx context.Context, c ConnInfo, convID, status string, seq int64) error {
	if status != StatusDelivered && status != StatusRead {
		return Errorf(EBadRequest, "status must be delivered or read")
	}
	if seq < 0 {
		return Errorf(EBadRequest, "seq must not be negative")
	}
	e, err := s.requireMember(ctx, convID, c.UserID)
	if err != nil {
		return err
	}
	_, changed, err := s.cfg.Store.AdvanceReceipt(ctx, c.UserID, convID, status, seq)
	if err != nil || !changed {
		return err
	}
	s.fanOut(ctx, &Event{Kind: EventReceipt, ExceptConn: c.ConnID, Receipt: &Receipt{
		ConversationID: convID, UserID: c.UserID, Username: c.Username, Status: status, Seq: seq,
	}}, e, memberIDs(e.members))
	return nil
}

// Typing tells the other members' online devices that the caller types.
func (s *Service) Typing(ctx context.Context, c ConnInfo, convID string) error {
	e, err := s.requireMember(ctx, convID, c.UserID)
	if err != nil {
		return err
	}
	others := make([]string, 0, len(e.members))
	for _, m := range e.members {
		if m.UserID != c.UserID {
			others = append(others, m.UserID)
		}
	}
	s.fanOut(ctx, &Event{Kind: EventTyping, ExceptConn: c.ConnID, Typing: &TypingEvent{ConversationID: convID, UserID: c.UserID, Username: c.Username}}, e, others)
	return nil
}

// ---- presence

// Connected records a new connection. A user who comes online (not merely
// back within the grace period) is announced to presence subscribers.
func (s *Service) Connected(ctx context.Context, c ConnInfo) error {
	if err := s.cfg.Presence.Connect(ctx, c.UserID, c.ConnID); err != nil {
		return err
	}
	s.mu.Lock()
	p := s.presence[c.UserID]
	if p == nil {
		p = &userPresence{}
		s.presence[c.UserID] = p
	}
	p.conns++
	first := p.conns == 1
	announce := first && p.pending == nil
	if p.pending != nil {
		p.pending.Stop()
		p.pending = nil
	}
	s.mu.Unlock()
	if first && s.topics != nil {
		groups, err := s.largeGroupsOf(ctx, c.UserID)
		if err != nil {
			s.log.Warn("large groups of user", "err", err)
		}
		s.mu.Lock()
		if p.conns > 0 && p.groups == nil {
			p.groups = groups
			s.subscribe(ctx, groups)
		}
		s.mu.Unlock()
	}
	if announce {
		s.announce(ctx, PresenceInfo{UserID: c.UserID, Username: c.Username, Online: true, LastSeen: s.now()})
	}
	return nil
}

// Disconnected records a closed connection. When the user has no connection
// left anywhere, it is announced offline after the grace period unless it
// came back meanwhile.
func (s *Service) Disconnected(ctx context.Context, c ConnInfo) {
	remaining, err := s.cfg.Presence.Disconnect(ctx, c.UserID, c.ConnID)
	if err != nil {
		s.log.Warn("presence disconnect", "err", err)
	}
	lastSeen := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.presence[c.UserID]
	if p == nil {
		return
	}
	p.conns--
	if p.conns > 0 {
		return
	}
	if p.groups != nil {
		s.unsubscribe(ctx, p.groups)
		p.groups = nil
	}
	if remaining > 0 {
		delete(s.presence, c.UserID)
		return
	}
	p.pending = time.AfterFunc(s.cfg.PresenceGrace, func() { s.goOffline(c, lastSeen, 0) })
}

func (s *Service) goOffline(c ConnInfo, lastSeen int64, attempt int) {
	s.mu.Lock()
	p := s.presence[c.UserID]
	if p == nil || p.conns > 0 {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if online, err := s.cfg.Presence.Online(ctx, []string{c.UserID}); err == nil && online[c.UserID] {
		// Online on another node, or this node's disconnect did not reach
		// the cluster's presence (its entry then lapses at its TTL): look
		// again later rather than never announce the user offline.
		s.mu.Lock()
		if p := s.presence[c.UserID]; p != nil && p.conns == 0 {
			if attempt < 12 {
				p.pending = time.AfterFunc(s.cfg.PresenceGrace, func() { s.goOffline(c, lastSeen, attempt+1) })
			} else {
				delete(s.presence, c.UserID)
			}
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	if p := s.presence[c.UserID]; p == nil || p.conns > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.presence, c.UserID)
	s.mu.Unlock()
	if err := s.cfg.Store.SetLastSeen(ctx, c.UserID, lastSeen); err != nil {
		s.log.Warn("set last seen", "err", err)
	}
	s.announce(ctx, PresenceInfo{UserID: c.UserID, Username: c.Username, Online: false, LastSeen: lastSeen})
}

func (s *Service) announce(ctx context.Context, p PresenceInfo) {
	if err := s.cfg.Bus.Broadcast(ctx, &Event{Kind: EventPresence, Presence: &p}); err != nil {
		s.log.Warn("broadcast presence", "err", err)
	}
}

// FlushPresence records last_seen for users whose offline announcement is
// still waiting, so a clean shutdown loses no last_seen.
func (s *Service) FlushPresence(ctx context.Context) {
	s.mu.Lock()
	var ids []string
	for id, p := range s.presence {
		if p.pending != nil && p.pending.Stop() {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	// Concurrent calls let the store share transactions (group commit):
	// one at a time, thousands of users cost thousands of fsyncs.
	now := s.now()
	var wg sync.WaitGroup
	work := make(chan string)
	for range min(64, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if err := s.cfg.Store.SetLastSeen(ctx, id, now); err != nil && !errors.Is(err, context.Canceled) {
					s.log.Warn("flush last seen", "err", err)
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
}
