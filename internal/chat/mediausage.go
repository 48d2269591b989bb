package chat

// MediaUsage is what a user has uploaded, for the per-user upload caps.
// Stores answer it from their records, so it holds across the nodes of a
// cluster.
type MediaUsage struct {
	Uploads int   // uploads created at or after the time asked about
	Oldest  int64 // created_at (Unix ms) of the oldest of those; 0 if none
	Bytes   int64 // bytes of all the user's uploads
}
