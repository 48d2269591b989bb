package wire

// PushKeyResponse answers GET /v1/push/key: the VAPID public key
// (uncompressed P-256, base64url) to subscribe with.
type PushKeyResponse struct {
	PublicKey string `json:"public_key"`
}

// PushSubscription is the body of POST /v1/push/subscriptions, as a
// browser's PushSubscription.toJSON() gives it, plus a device name.
type PushSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
	Device string `json:"device,omitempty"`
}

// PushUnsubscribe is the body of DELETE /v1/push/subscriptions.
type PushUnsubscribe struct {
	Endpoint string `json:"endpoint"`
}

// NotificationSetting is the body and answer of
// PUT /v1/conversations/{id}/notifications (and GET's answer).
type NotificationSetting struct {
	Level      string `json:"level"`
	MutedUntil int64  `json:"muted_until,omitempty"` // Unix ms
}

// PushSubscribed answers POST /v1/push/subscriptions (201).
type PushSubscribed struct {
	Endpoint string `json:"endpoint"`
	Device   string `json:"device,omitempty"`
}
