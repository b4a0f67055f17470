package kv

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every validation and decoding error of this package.
var ErrInvalid = errors.New("invalid")

// FieldError is a validation error that names the offending field (in JSON path form,
// e.g. "spec.replicas").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes every FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldError(field, msg string) error { return &FieldError{Field: field, Message: msg} }

// prefixed re-roots a FieldError under parent ("spec" + "replicas" → "spec.replicas").
func prefixed(parent string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: parent + "." + fe.Field, Message: fe.Message}
	}
	return fmt.Errorf("%s: %w", parent, err)
}
