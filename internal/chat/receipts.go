package chat

import "context"

// receiptScanMax bounds the messages a group receipt's recipients are
// looked up in. A receipt that moves further (a reader catching up on a
// long backlog, rare) goes to every member.
const receiptScanMax = 1000

// Receipt moves the caller's delivered or read position and tells, when it
// moved, those it concerns.
//
// In a conversation of two, that is both members. In a larger group, it is
// the reader's own devices and the senders of the messages the receipt
// newly covers, whose ticks it can change: nobody else draws ticks from
// it, and telling every member made a group message's receipts cost
// members² frames. Every member's positions stay readable on demand
// (GET /v1/conversations/{id}/members).
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
	targeted := ms.Len() > 2
	var from int64
	if targeted {
		before, err := s.cfg.Store.ConversationState(ctx, convID, c.UserID)
		if err != nil {
			return err
		}
		from = position(before, status)
		if seq <= from {
			// Acked, changes nothing: positions only move forward.
			return nil
		}
	}
	_, changed, err := s.cfg.Store.AdvanceReceipt(ctx, c.UserID, convID, status, seq)
	if err != nil || !changed {
		return err
	}
	to := ms.IDs()
	if targeted && seq-from <= receiptScanMax {
		// A concurrent receipt of the same user may have moved the
		// position between the read above and the write: the range is
		// then wider than needed, never narrower.
		senders, err := s.cfg.Store.Senders(ctx, convID, from, seq)
		if err != nil {
			return err
		}
		to = receiptRecipients(ms, c.UserID, senders)
	}
	s.rt.Publish(ctx, &Event{Kind: EventReceipt, ExceptConn: c.ConnID, Receipt: &Receipt{
		ConversationID: convID, UserID: c.UserID, Username: c.Username, Status: status, Seq: seq,
	}}, ms, to)
	return nil
}

// receiptRecipients is reader and those of senders still members, each
// once.
func receiptRecipients(ms *MemberSet, reader string, senders []string) []string {
	to := make([]string, 0, len(senders)+1)
	to = append(to, reader)
	for _, u := range senders {
		if u != reader && ms.Has(u) {
			to = append(to, u)
		}
	}
	return to
}

// position is the member's position that a receipt of status moves.
func position(st ConversationState, status string) int64 {
	if status == StatusRead {
		return st.ReadSeq
	}
	return st.DeliveredSeq
}
