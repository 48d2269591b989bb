package redis

import (
	"encoding/json"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// The bus encodes events as JSON with short names: an envelope crosses
// Redis once per node, and big groups make many of them.

type eventJSON struct {
	Kind       string       `json:"k"`
	Recipients []string     `json:"r,omitempty"`
	ExceptConn string       `json:"x,omitempty"`
	Message    *messageJSON `json:"m,omitempty"`
	Receipt    *receiptJSON `json:"rc,omitempty"`
	Presence   *presJSON    `json:"p,omitempty"`
	Typing     *typingJSON  `json:"t,omitempty"`
	Member     *memberJSON  `json:"mb,omitempty"`
	SessionID  string       `json:"s,omitempty"`
}

type messageJSON struct {
	ID             string     `json:"i,omitempty"`
	ConversationID string     `json:"c,omitempty"`
	Seq            int64      `json:"q,omitempty"`
	SenderID       string     `json:"f,omitempty"`
	Sender         string     `json:"fn,omitempty"`
	TS             int64      `json:"ts,omitempty"`
	Text           string     `json:"tx,omitempty"`
	ClientMsgID    string     `json:"cm,omitempty"`
	Media          *mediaJSON `json:"md,omitempty"`
}

type mediaJSON struct {
	ID          string `json:"i,omitempty"`
	ContentType string `json:"ct,omitempty"`
	Size        int64  `json:"sz,omitempty"`
	Width       int    `json:"w,omitempty"`
	Height      int    `json:"h,omitempty"`
	SHA256      string `json:"sh,omitempty"`
	UploaderID  string `json:"u,omitempty"`
	CreatedAt   int64  `json:"at,omitempty"`
}

type receiptJSON struct {
	ConversationID string `json:"c,omitempty"`
	UserID         string `json:"u,omitempty"`
	Username       string `json:"un,omitempty"`
	Status         string `json:"st,omitempty"`
	Seq            int64  `json:"q,omitempty"`
}

type presJSON struct {
	UserID   string `json:"u,omitempty"`
	Username string `json:"un,omitempty"`
	Online   bool   `json:"o,omitempty"`
	LastSeen int64  `json:"ls,omitempty"`
}

type typingJSON struct {
	ConversationID string `json:"c,omitempty"`
	UserID         string `json:"u,omitempty"`
	Username       string `json:"un,omitempty"`
}

type memberJSON struct {
	ConversationID string `json:"c,omitempty"`
	UserID         string `json:"u,omitempty"`
	Username       string `json:"un,omitempty"`
	Event          string `json:"e,omitempty"`
	Members        int    `json:"n,omitempty"`
}

func encodeEvent(ev *chat.Event) ([]byte, error) {
	e := eventJSON{
		Kind:       ev.Kind,
		Recipients: ev.Recipients,
		ExceptConn: ev.ExceptConn,
		SessionID:  ev.SessionID,
	}
	if m := ev.Message; m != nil {
		e.Message = &messageJSON{
			ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, SenderID: m.SenderID,
			Sender: m.Sender, TS: m.TS, Text: m.Text, ClientMsgID: m.ClientMsgID,
		}
		if md := m.Media; md != nil {
			e.Message.Media = &mediaJSON{
				ID: md.ID, ContentType: md.ContentType, Size: md.Size, Width: md.Width, Height: md.Height,
				SHA256: md.SHA256, UploaderID: md.UploaderID, CreatedAt: md.CreatedAt,
			}
		}
	}
	if r := ev.Receipt; r != nil {
		e.Receipt = &receiptJSON{ConversationID: r.ConversationID, UserID: r.UserID, Username: r.Username, Status: r.Status, Seq: r.Seq}
	}
	if p := ev.Presence; p != nil {
		e.Presence = &presJSON{UserID: p.UserID, Username: p.Username, Online: p.Online, LastSeen: p.LastSeen}
	}
	if t := ev.Typing; t != nil {
		e.Typing = &typingJSON{ConversationID: t.ConversationID, UserID: t.UserID, Username: t.Username}
	}
	if m := ev.Member; m != nil {
		e.Member = &memberJSON{ConversationID: m.ConversationID, UserID: m.UserID, Username: m.Username, Event: m.Event, Members: m.Members}
	}
	return json.Marshal(&e)
}

func decodeEvent(b []byte) (*chat.Event, error) {
	var e eventJSON
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	ev := &chat.Event{
		Kind:       e.Kind,
		Recipients: e.Recipients,
		ExceptConn: e.ExceptConn,
		SessionID:  e.SessionID,
	}
	if m := e.Message; m != nil {
		ev.Message = &chat.Message{
			ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, SenderID: m.SenderID,
			Sender: m.Sender, TS: m.TS, Text: m.Text, ClientMsgID: m.ClientMsgID,
		}
		if md := m.Media; md != nil {
			ev.Message.Media = &chat.Media{
				ID: md.ID, ContentType: md.ContentType, Size: md.Size, Width: md.Width, Height: md.Height,
				SHA256: md.SHA256, UploaderID: md.UploaderID, CreatedAt: md.CreatedAt,
			}
		}
	}
	if r := e.Receipt; r != nil {
		ev.Receipt = &chat.Receipt{ConversationID: r.ConversationID, UserID: r.UserID, Username: r.Username, Status: r.Status, Seq: r.Seq}
	}
	if p := e.Presence; p != nil {
		ev.Presence = &chat.PresenceInfo{UserID: p.UserID, Username: p.Username, Online: p.Online, LastSeen: p.LastSeen}
	}
	if t := e.Typing; t != nil {
		ev.Typing = &chat.TypingEvent{ConversationID: t.ConversationID, UserID: t.UserID, Username: t.Username}
	}
	if m := e.Member; m != nil {
		ev.Member = &chat.MemberEvent{ConversationID: m.ConversationID, UserID: m.UserID, Username: m.Username, Event: m.Event, Members: m.Members}
	}
	return ev, nil
}
