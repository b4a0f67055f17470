// Package console is Orbit's fleet console: server-rendered HTML pages (html/template) with
// one small script and one stylesheet, embedded in the mothership binary and served under
// /console by the frontend's handler. It owns the browser side of the API: the login that
// exchanges an API key for a session cookie, CSRF tokens, the security headers, the pages
// and their live updates (each page's own URL as a server-sent event stream).
//
// The console writes nothing itself and reads nothing directly: every read and every action
// is an API call made in-process as the session's principal (Backend.Call), through the
// API's own handlers, so a page shows a caller exactly what the API would and refuses what
// the API refuses. Sessions are kept by the backend (the frontend writes the
// console_sessions table; only the hash of a session id is stored).
//
// Pages: the fleet (satellites for operators; clusters by phase, product and region; what
// needs attention) and a cluster (spec, status and conditions, endpoints and CA, history,
// Kafka API keys without secrets, actions for roles allowed to), the rollouts and a rollout
// (waves with each state's count, failures, windows, history; pause, resume, abort for
// operators, the only role the API lets read or act on rollouts). A page is a route, a
// loader and a template (see pages.go); a new page adds those three.
package console
