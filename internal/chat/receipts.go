package chat

import "context"

// Receipt moves the caller's delivered or read position and tells the
// members when it moved.
func (s *Service) Receipt(ctx context.Context, c ConnInfo, convID, status string, seq int64) error {
	if status != StatusDelivered && status != StatusRead {
		return Errorf(EBadRequest, "status must be delivered or read")
	}
	if seq < 0 {
		return Errorf(EBadRequest, "seq must not be negative")
	}
	ms, err := s.requireMember(ctx, convID, c.UserID)
	if err != nil {
		return err
	}
	_, changed, err := s.cfg.Store.AdvanceReceipt(ctx, c.UserID, convID, status, seq)
	if err != nil || !changed {
		return err
	}
	s.rt.Publish(ctx, &Event{Kind: EventReceipt, ExceptConn: c.ConnID, Receipt: &Receipt{
		ConversationID: convID, UserID: c.UserID, Username: c.Username, Status: status, Seq: seq,
	}}, ms, ms.IDs())
	return nil
}
