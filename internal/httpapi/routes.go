package httpapi

import "net/http"

// addRoutes lists every route of the API in one place.
func addRoutes(mux *http.ServeMux, d Deps) {
	svc, log := d.Service, d.Logger
	auth := func(h http.HandlerFunc) http.Handler { return requireAuth(svc, log, h) }

	mux.Handle("POST /v1/users", handleSignup(svc, log))
	mux.Handle("POST /v1/sessions", handleLogin(svc, log))
	mux.Handle("DELETE /v1/sessions/current", auth(handleLogout(svc, log)))
	mux.Handle("GET /v1/users/{username}", auth(handleProfile(svc, log)))
	addAccountRoutes(mux, d)

	mux.Handle("POST /v1/groups", auth(handleCreateGroup(svc, log)))
	mux.Handle("GET /v1/groups", auth(handleSearchGroups(svc, log)))
	mux.Handle("PATCH /v1/groups/{name}", auth(handleEditGroup(svc, log)))
	mux.Handle("DELETE /v1/groups/{name}", auth(handleDeleteGroup(svc, log)))
	mux.Handle("POST /v1/groups/{name}/members", auth(handleJoinGroup(svc, log)))
	mux.Handle("DELETE /v1/groups/{name}/members/{username}", auth(handleRemoveMember(svc, log)))
	mux.Handle("GET /v1/groups/{name}/members", auth(handleMembers(svc, log)))
	mux.Handle("PUT /v1/groups/{name}/members/{username}/role", auth(handleSetRole(svc, log)))
	mux.Handle("POST /v1/groups/{name}/bans", auth(handleBan(svc, log)))
	mux.Handle("GET /v1/groups/{name}/bans", auth(handleBans(svc, log)))
	mux.Handle("DELETE /v1/groups/{name}/bans/{username}", auth(handleUnban(svc, log)))

	mux.Handle("PUT /v1/blocks/{username}", auth(handleBlock(svc, log)))
	mux.Handle("DELETE /v1/blocks/{username}", auth(handleUnblock(svc, log)))
	mux.Handle("GET /v1/blocks", auth(handleBlocks(svc, log)))

	mux.Handle("GET /v1/conversations", auth(handleConversations(svc, log)))
	mux.Handle("GET /v1/conversations/{id}/messages", auth(handleHistory(svc, log)))
	mux.Handle("GET /v1/conversations/{id}/members", auth(handleMembers(svc, log)))
	mux.Handle("GET /v1/conversations/{id}/pins", auth(handlePins(svc, log)))
	mux.Handle("GET /v1/search", auth(handleSearch(svc, log)))

	mux.Handle("GET /v1/discover", handleDiscover(d.Discover, log))
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(d.Ready, log))

	if d.WebSocket != nil {
		mux.Handle("GET /v1/ws", d.WebSocket)
	}
	if d.Push != nil {
		mux.Handle("GET /v1/push/key", auth(handlePushKey(d.Push.PublicKey)))
		mux.Handle("POST /v1/push/subscriptions", auth(handleSubscribe(svc, log, d.Push.AllowHTTP)))
		mux.Handle("DELETE /v1/push/subscriptions", auth(handleUnsubscribe(svc, log)))
		mux.Handle("PUT /v1/conversations/{id}/notifications", auth(handleSetNotification(svc, log)))
		mux.Handle("GET /v1/conversations/{id}/notifications", auth(handleNotification(svc, log)))
	}
	if d.Events != nil {
		mux.Handle("POST /v1/events/tickets", auth(handleEventTicket(svc, log)))
		mux.Handle("GET /v1/events", handleEvents(svc, log, d.Events))
	}
	// Metrics and profiles live on a listener of their own (serve
	// --metrics-addr), never on the public port.
	mux.Handle("/metrics", handleNotFound(log))
	mux.Handle("/debug/", handleNotFound(log))
	if d.Media != nil {
		media := Transfer(d.Media, d.TransferIdle)
		mux.Handle("/v1/media", media)
		mux.Handle("/v1/media/", media)
	}
	mux.Handle("/v1/", handleNotFound(log))
	if d.Web != nil {
		mux.Handle("/", d.Web) // it answers GET and HEAD only
	}
}
