package kv

import (
	"fmt"
	"regexp"
)

// MaxNameLength is the longest name Orbit accepts: a DNS-1123 label.
const MaxNameLength = 63

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks that value is a DNS-1123 label (lower-case alphanumerics and '-',
// starting and ending with an alphanumeric, at most 63 characters). Satellite names,
// cluster ids and cluster names all end up in NATS subjects and Kubernetes object names, so
// a '.', '*', '>', whitespace or upper case would break one of them. field names the input
// in the error.
func ValidateName(field, value string) error {
	switch {
	case value == "":
		return fieldError(field, "is required")
	case len(value) > MaxNameLength:
		return fieldError(field, fmt.Sprintf("must be at most %d characters (got %d)", MaxNameLength, len(value)))
	case !dns1123Label.MatchString(value):
		return fieldError(field, fmt.Sprintf("%q must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit", value))
	}
	return nil
}
