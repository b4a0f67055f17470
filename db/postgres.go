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

func openPostgres(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
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
