package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/orbitcp/orbit/mothership/api"
)

// isStream reports whether the browser asks for a page's live updates (EventSource sends
// Accept: text/event-stream).
func isStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// Stream limits: a stream ends after streamLifetime (the browser reconnects on its own,
// which re-checks everything from the cookie up) and sends a comment when nothing changed
// for keepAlive, so that proxies keep it open.
const (
	streamLifetime = 10 * time.Minute
	keepAlive      = 15 * time.Second
	writeTimeout   = 30 * time.Second
)

// stream serves a page's live updates as server-sent events: every Poll (or five times as
// long as the last round took, if that is longer) it checks that the session still lives, loads the page through the API as the session's principal, and
// sends the page's live part when it changed ("update"). When the session ends it sends
// "end" and stops; when the page fails (the cluster was deleted, the key lost the right),
// it sends the error's text as "failure".
func (c *Console) stream(w http.ResponseWriter, r *http.Request, s Session, p page) {
	rc := http.NewResponseController(w)
	// The server's read timeout would otherwise end the stream (net/http cancels a
	// request whose connection's read deadline passes); writes get their own deadline.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event, data string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		var b strings.Builder
		if event != "" {
			fmt.Fprintf(&b, "event: %s\n", event)
			// A carriage return ends an event-stream line too: normalise before splitting.
			data = strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
			for _, line := range strings.Split(data, "\n") {
				fmt.Fprintf(&b, "data: %s\n", line)
			}
		} else {
			b.WriteString(": keep-alive\n")
		}
		b.WriteString("\n")
		if _, err := w.Write([]byte(b.String())); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The browser reconnects 3 s after a stream ends.
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write([]byte("retry: 3000\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	ctx := r.Context()
	next := time.NewTimer(c.cfg.Poll)
	defer next.Stop()
	end := time.After(streamLifetime)
	var last string
	lastSent := time.Now()
	for {
		started := time.Now()
		if _, err := c.cfg.Backend.Resume(ctx, s.ID); errors.Is(err, ErrNoSession) {
			send("end", "session ended")
			return
		}
		data, err := p.load(ctx, r, s)
		var out string
		event := "update"
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				if ctx.Err() == nil {
					c.cfg.Log.Error("console stream", "page", p.name, "error", err)
				}
				event, out = "failure", "Internal error."
			} else {
				event, out = "failure", ae.msg
			}
		} else {
			var buf bytes.Buffer
			if err := c.tmpl.ExecuteTemplate(&buf, p.name+"-live", c.frame(s, p.name, data)); err != nil {
				c.cfg.Log.Error("console template", "template", p.name+"-live", "error", err)
				return
			}
			out = buf.String()
		}
		switch {
		case event+out != last:
			if !send(event, out) {
				return
			}
			last, lastSent = event+out, time.Now()
		case time.Since(lastSent) > keepAlive:
			if !send("", "") {
				return
			}
			lastSent = time.Now()
		}
		// A page that is slow to load (a large fleet) is re-read less often: at most a fifth
		// of the time goes to any one stream.
		next.Reset(max(c.cfg.Poll, 5*time.Since(started)))
		select {
		case <-ctx.Done():
			return
		case <-c.stop:
			return
		case <-end:
			return
		case <-next.C:
		}
	}
}

var funcs = template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		d := time.Since(t)
		switch {
		case d < time.Second:
			return "just now"
		case d < time.Minute:
			return fmt.Sprintf("%ds ago", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%dm ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%dh ago", int(d.Hours()))
		}
		return t.UTC().Format("2006-01-02")
	},
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"percent": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"join":    strings.Join,
	"inc":     func(i int) int { return i + 1 },
	"dur":     func(d api.Duration) string { return time.Duration(d).String() },
}
