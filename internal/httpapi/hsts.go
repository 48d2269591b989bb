package httpapi

import (
	"net/http"
	"strconv"
	"time"
)

// HSTS makes browsers use HTTPS only for this host for maxAge after each
// answer (Strict-Transport-Security). Only for a server that speaks TLS.
func HSTS(h http.Handler, maxAge time.Duration) http.Handler {
	value := "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", value)
		h.ServeHTTP(w, r)
	})
}
