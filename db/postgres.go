package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Session limits, unless the DSN sets its own: a replica frozen inside a transaction (a
// stopped process, a partitioned host) must not hold row locks — the leader lease's above
// all — for longer than this, and no statement waits for a lock forever.
var sessionDefaults = map[string]string{
	"lock_timeout":                        "5s",
	"idle_in_transaction_session_timeout": "10s",
}

func openPostgres(dsn string) (*sql.DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("db: postgres: %w", err)
	}
	q := u.Query()
	for k, v := range sessionDefaults {
		if q.Get(k) == "" {
			q.Set(k, v) // pgx passes unknown parameters to the server as session settings
		}
	}
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("db: postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	return db, nil
}

// OpenFreshPostgres creates a new, empty database named after name on the server of dsn
// and opens it: every test gets its own.
func OpenFreshPostgres(ctx context.Context, dsn, name string) (*Store, error) {
	fresh, err := CreateFreshPostgres(ctx, dsn, name)
	if err != nil {
		return nil, err
	}
	return Open(ctx, fresh)
}

// CreateFreshPostgres creates a new, empty database named after name on the server of dsn
// and returns its DSN.
func CreateFreshPostgres(ctx context.Context, dsn, name string) (string, error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dbName := "orbit_test_" + strings.ToLower(nonIdent.ReplaceAllString(name, "_"))
	if len(dbName) > 50 {
		dbName = dbName[:50]
	}
	dbName += "_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		return "", fmt.Errorf("create database %s: %w", dbName, err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Path = "/" + dbName
	return u.String(), nil
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]`)
