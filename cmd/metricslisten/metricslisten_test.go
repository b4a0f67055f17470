package metricslisten

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestLaterAnswers503UntilSet: a scrape before the hub has started gets 503, not an empty
// exposition that would look like a hub without series; then the handler set serves.
func TestLaterAnswers503UntilSet(t *testing.T) {
	var l Later
	rec := httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest("GET", "/hub/metrics", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("before Set: %d", rec.Code)
	}
	l.Set(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up 1\n")) }))
	rec = httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest("GET", "/hub/metrics", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "up 1\n" {
		t.Fatalf("after Set: %d %q", rec.Code, rec.Body)
	}
}
