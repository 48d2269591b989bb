package wire

// TicketResponse answers POST /v1/events/tickets: a single-use ticket for
// GET /v1/events?ticket=..., valid for ExpiresIn seconds.
type TicketResponse struct {
	Ticket    string `json:"ticket"`
	ExpiresIn int    `json:"expires_in"`
}
