package chat

import "context"

// MaxMentions bounds the members one message may mention.
const MaxMentions = 50

// mentions returns the members of convID that text names as @username
// (usernames, in the order first named, and their ids). ms is the member
// set when the caller has it. Names that are not members are plain text.
func (s *Service) mentions(ctx context.Context, convID string, ms *MemberSet, text string) ([]string, []string, error) {
	names := mentionNames(text)
	if len(names) == 0 {
		return nil, nil, nil
	}
	if ms == nil {
		var err error
		if ms, err = s.rt.Members(ctx, convID); err != nil {
			return nil, nil, err
		}
	}
	byName := make(map[string]string, ms.Len())
	for _, m := range ms.List {
		byName[m.Username] = m.UserID
	}
	var users, ids []string
	for _, n := range names {
		if id, ok := byName[n]; ok && len(users) < MaxMentions {
			users = append(users, n)
			ids = append(ids, id)
		}
	}
	return users, ids, nil
}

// mentionNames returns the distinct lowercased names written as @name in
// text, where name is a valid username and the @ starts a word.
func mentionNames(text string) []string {
	var out []string
	seen := make(map[string]bool)
	for i := 0; i < len(text); i++ {
		if text[i] != '@' || (i > 0 && isNameByte(text[i-1])) {
			continue
		}
		j := i + 1
		for j < len(text) && isNameByte(text[j]) {
			j++
		}
		// A name does not end with '.' or '-': "@bob." names bob.
		for j > i+1 && (text[j-1] == '.' || text[j-1] == '-') {
			j--
		}
		n, err := NormalizeName("username", text[i+1:j])
		if err == nil && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
		i = j - 1
	}
	return out
}

func isNameByte(c byte) bool {
	if c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// checkReplyTo checks that message id exists in convID.
func (s *Service) checkReplyTo(ctx context.Context, convID, id string) error {
	if len(id) > 64 {
		return Errorf(EBadRequest, "reply_to is at most 64 bytes")
	}
	m, err := s.cfg.Store.Message(ctx, id)
	if ErrorCode(err) == ENotFound || (err == nil && m.ConversationID != convID) {
		return Errorf(EBadRequest, "reply_to must be a message of the same conversation")
	}
	return err
}
