package redis

import (
	"github.com/segmentio/encoding/json"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// The bus carries chat.Event as JSON under the short field names its tags
// give (an envelope crosses Redis once per node, and big groups make many
// of them). A field added to the core's types travels once it has a tag.

func encodeEvent(ev *chat.Event) ([]byte, error) { return json.Marshal(ev) }

func decodeEvent(b []byte) (*chat.Event, error) {
	var ev chat.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, err
	}
	return &ev, nil
}
