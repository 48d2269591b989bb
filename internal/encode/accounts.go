package encode

import (
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/wire"
)

// Self returns the view of u that u itself and admins see: the public one
// with its role and suspension.
func Self(u chat.User) wire.User {
	out := User(u)
	out.Admin, out.Suspended = u.Admin, u.Suspended
	return out
}

// Sessions returns the views of ss, marking currentID.
func Sessions(ss []chat.Session, currentID string) []wire.Session {
	out := make([]wire.Session, len(ss))
	for i, s := range ss {
		out[i] = wire.Session{ID: s.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, Current: s.ID == currentID}
	}
	return out
}

// Audit returns the views of es; never nil.
func Audit(es []chat.AuditEntry) []wire.AuditEntry {
	out := make([]wire.AuditEntry, len(es))
	for i, e := range es {
		out[i] = wire.AuditEntry{ID: e.ID, TS: e.TS, Actor: e.Actor, Action: e.Action, Target: e.Target, Details: e.Details}
	}
	return out
}
