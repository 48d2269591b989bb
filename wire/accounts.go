package wire

// ProfileRequest is the body of PATCH /v1/users/me; absent fields stay.
// Avatar is the media id of an image the user uploaded, or "" to remove it.
type ProfileRequest struct {
	DisplayName *string `json:"display_name,omitempty"`
	Avatar      *string `json:"avatar,omitempty"`
}

// PasswordRequest is the body of PUT /v1/users/me/password.
type PasswordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// DeleteAccountRequest is the body of DELETE /v1/users/me.
type DeleteAccountRequest struct {
	Password string `json:"password"`
}

// Session is one login of the user.
type Session struct {
	ID        string `json:"id"`
	CreatedAt int64  `json:"created_at"`
	ExpiresAt int64  `json:"expires_at"`
	// Current marks the session of the token that asked.
	Current bool `json:"current,omitempty"`
}

// SessionsResponse answers GET /v1/sessions.
type SessionsResponse struct {
	Sessions []Session `json:"sessions"`
}

// UsersResponse answers GET /v1/admin/users.
type UsersResponse struct {
	Users []User `json:"users"`
}

// LogoutResponse answers POST /v1/admin/users/{username}/logout.
type LogoutResponse struct {
	SessionsEnded int `json:"sessions_ended"`
}

// MessageResponse answers DELETE /v1/admin/conversations/{id}/messages/{seq}.
type MessageResponse struct {
	Message Message `json:"message"`
}

// NodeStats is one node of the cluster as the registry lists it.
type NodeStats struct {
	ID          string `json:"id"`
	URL         string `json:"url,omitempty"`
	Connections int    `json:"connections"`
}

// StatsResponse answers GET /v1/admin/stats.
type StatsResponse struct {
	Node          string      `json:"node"` // the node that answered
	Nodes         []NodeStats `json:"nodes"`
	Connections   int         `json:"connections"` // over all nodes
	Users         int64       `json:"users"`
	Conversations int64       `json:"conversations"`
	Messages      int64       `json:"messages"`
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID      string `json:"id"`
	TS      int64  `json:"ts"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	Details string `json:"details,omitempty"`
}

// AuditResponse answers GET /v1/admin/audit.
type AuditResponse struct {
	Entries []AuditEntry `json:"entries"`
}

// ExportManifest is manifest.json in an account export archive.
type ExportManifest struct {
	Format        int                  `json:"format"` // 1
	ExportedAt    int64                `json:"exported_at"`
	User          User                 `json:"user"`
	Conversations []ExportConversation `json:"conversations"`
	Media         []ExportMedia        `json:"media"`
	// Messages is how many messages messages.jsonl holds (one JSON Message
	// per line, each one the user sent).
	Messages int64 `json:"messages"`
}

// ExportConversation is a conversation the user is in: its id and name,
// never other members' messages.
type ExportConversation struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Name  string `json:"name,omitempty"`
	Title string `json:"title,omitempty"`
	Peer  string `json:"peer,omitempty"`
}

// ExportMedia is one upload of the user; File is its path in the archive.
type ExportMedia struct {
	Media
	CreatedAt int64  `json:"created_at"`
	File      string `json:"file,omitempty"`
}
