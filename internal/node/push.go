package node

import (
	"context"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// notifying is a Runtime that also hands every committed message to a
// callback (the Web Push sender's queue).
type notifying struct {
	chat.Runtime
	committed func(chat.Message)
}

// Notifying returns rt with committed called, on the write path and so
// without blocking, for each message it commits.
func Notifying(rt chat.Runtime, committed func(chat.Message)) chat.Runtime {
	return notifying{Runtime: rt, committed: committed}
}

// Commit commits m as the wrapped runtime does and then hands it on.
func (n notifying) Commit(ctx context.Context, m chat.Message, conn chat.ConnInfo, done func(chat.Message, error)) {
	n.Runtime.Commit(ctx, m, conn, func(m chat.Message, err error) {
		if err == nil {
			n.committed(m)
		}
		done(m, err)
	})
}
