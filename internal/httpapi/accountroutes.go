package httpapi

import "net/http"

// AdminRoutes lists the admin API's routes, for the authorization test
// that every one of them refuses non-admins.
func AdminRoutes() []string {
	return []string{
		"GET /v1/admin/users",
		"POST /v1/admin/users/{username}/suspend",
		"DELETE /v1/admin/users/{username}/suspend",
		"POST /v1/admin/users/{username}/logout",
		"DELETE /v1/admin/conversations/{id}/messages/{seq}",
		"DELETE /v1/admin/groups/{name}",
		"GET /v1/admin/stats",
		"GET /v1/admin/audit",
	}
}

// addAccountRoutes adds the routes of account management and the admin
// API: one's own account under /v1/users/me and /v1/sessions, operators'
// under /v1/admin (each refused with 403 to non-admins).
func addAccountRoutes(mux *http.ServeMux, d Deps) {
	svc, log := d.Service, d.Logger
	auth := func(h http.HandlerFunc) http.Handler { return requireAuth(svc, log, h) }
	admin := func(h http.HandlerFunc) http.Handler { return requireAdmin(svc, log, h) }

	mux.Handle("GET /v1/users/me", auth(handleMe(svc, log)))
	mux.Handle("PATCH /v1/users/me", auth(handleUpdateProfile(svc, log)))
	mux.Handle("DELETE /v1/users/me", auth(handleDeleteAccount(svc, log)))
	mux.Handle("PUT /v1/users/me/password", auth(handleChangePassword(svc, log)))
	mux.Handle("GET /v1/users/me/export", auth(handleExport(svc, d.MediaBytes, log)))
	mux.Handle("GET /v1/sessions", auth(handleSessions(svc, log)))
	mux.Handle("DELETE /v1/sessions/{id}", auth(handleRevokeSession(svc, log)))

	routes := AdminRoutes()
	handlers := map[string]http.HandlerFunc{
		routes[0]: handleAdminUsers(svc, log),
		routes[1]: handleSuspend(svc, log, true),
		routes[2]: handleSuspend(svc, log, false),
		routes[3]: handleForceLogout(svc, log),
		routes[4]: handleAdminDeleteMessage(svc, log),
		routes[5]: handleAdminDeleteGroup(svc, log),
		routes[6]: handleStats(svc, d.Nodes, log),
		routes[7]: handleAudit(svc, log),
	}
	for _, route := range routes {
		mux.Handle(route, admin(handlers[route]))
	}
}
