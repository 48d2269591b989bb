package chat

import "context"

// SendRequest is a client's message.
type SendRequest struct {
	ClientMsgID  string
	ToUser       string
	Conversation string
	Text         string
	MediaID      string
	ReplyTo      string // a message of the same conversation
}

// Send validates a message and queues it for the group-committed write
// path. done is called once, after the commit (or with the error), from the
// write path's goroutine, in the order messages were submitted: it must not
// block.
func (s *Service) Send(ctx context.Context, c ConnInfo, req SendRequest, done func(Message, error)) {
	m, mentionIDs, err := s.prepare(ctx, c, req)
	if err != nil {
		done(Message{}, err)
		return
	}
	s.rt.Commit(ctx, Append{Message: m, MentionIDs: mentionIDs}, c, done)
}

// prepare checks a send and returns the message to store.
func (s *Service) prepare(ctx context.Context, c ConnInfo, req SendRequest) (m Message, mentionIDs []string, err error) {
	if (req.ToUser == "") == (req.Conversation == "") {
		return Message{}, nil, Errorf(EBadRequest, "give exactly one of to_user and conversation")
	}
	if err := checkText(ETooLarge, "text", req.Text, s.cfg.MaxText); err != nil {
		return Message{}, nil, err
	}
	if req.Text == "" && req.MediaID == "" {
		return Message{}, nil, Errorf(EBadRequest, "a message needs text or media_id")
	}
	if len(req.ClientMsgID) > MaxClientMsgID {
		return Message{}, nil, Errorf(EBadRequest, "client_msg_id is at most %d bytes", MaxClientMsgID)
	}
	if err := s.allowSend(ctx, c.UserID); err != nil {
		return Message{}, nil, err
	}
	// Every check that can refuse comes before the direct conversation is
	// created on first use, so a refused send leaves nothing behind.
	var md *Media
	if req.MediaID != "" {
		m, err := s.media(ctx, c, req.MediaID)
		if err != nil {
			return Message{}, nil, err
		}
		md = &m
	}
	convID := req.Conversation
	var ms *MemberSet
	if req.ToUser != "" {
		conv, err := s.direct(ctx, c.UserID, req.ToUser)
		if err != nil {
			return Message{}, nil, err
		}
		convID = conv.ID
	} else if ms, err = s.requireMember(ctx, convID, c.UserID); err != nil {
		return Message{}, nil, err
	}
	if err := s.mayDirect(ctx, c, convID); err != nil {
		return Message{}, nil, err
	}
	m = Message{
		ID:             s.cfg.NewID(),
		ConversationID: convID,
		SenderID:       c.UserID,
		Sender:         c.Username,
		TS:             s.now(),
		Text:           req.Text,
		ClientMsgID:    req.ClientMsgID,
		Media:          md,
	}
	if req.ReplyTo != "" {
		if err := s.checkReplyTo(ctx, convID, req.ReplyTo); err != nil {
			return Message{}, nil, err
		}
		m.ReplyTo = req.ReplyTo
	}
	if m.Mentions, mentionIDs, err = s.mentions(ctx, convID, ms, req.Text); err != nil {
		return Message{}, nil, err
	}
	return m, mentionIDs, nil
}

// media returns the uploaded object id for a message of c's user.
func (s *Service) media(ctx context.Context, c ConnInfo, id string) (Media, error) {
	if s.cfg.Media == nil {
		return Media{}, Errorf(EBadRequest, "media is not enabled on this server")
	}
	md, err := s.cfg.Media(ctx, id)
	if ErrorCode(err) == ENotFound {
		return Media{}, Errorf(ENotFound, "no media %q", id)
	} else if err != nil {
		return Media{}, err
	}
	if md.UploaderID != c.UserID {
		return Media{}, Errorf(EForbidden, "only the uploader may attach media %q", id)
	}
	return md, nil
}

// allowSend takes one send from the user's budget: the cluster's when a
// Limiter is set and reachable, else this node's.
func (s *Service) allowSend(ctx context.Context, userID string) error {
	if s.cfg.SendRate <= 0 {
		return nil
	}
	now := s.cfg.Now()
	if s.cfg.Limiter != nil {
		ok, wait, err := s.cfg.Limiter.Allow(ctx, "send:"+userID, s.cfg.SendRate, s.cfg.SendBurst)
		if err == nil {
			if ok {
				return nil
			}
			e := Errorf(ERateLimited, "sending too fast; slow down")
			e.RetryAfter = wait
			return e
		}
		s.log.Debug("cluster send limit unreachable; counting here", "err", err)
	}
	if !s.limiter.allow(userID, now) {
		return s.limiter.refuse(userID, now, "sending too fast; slow down")
	}
	return nil
}
