package frontend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/profile"
)

// Limits and defaults of the cluster API.
const (
	MinCKU         = 1
	MaxCKU         = 32
	DefaultSKU     = "dedicated"
	DefaultCloud   = "aws"
	DefaultNetwork = "public"
	maxBodyBytes   = 1 << 20
)

// fieldErr is a validation error naming the field.
type fieldErr struct {
	field, msg string
}

func (e *fieldErr) Error() string { return e.field + ": " + e.msg }

func invalid(field, format string, args ...any) error {
	return &fieldErr{field: field, msg: fmt.Sprintf(format, args...)}
}

// asFieldErr turns a kv validation error into a fieldErr under prefix.
func asFieldErr(prefix string, err error) error {
	var fe *kv.FieldError
	if errors.As(err, &fe) {
		return &fieldErr{field: prefix + fe.Field, msg: fe.Message}
	}
	return err
}

// normalize fills defaults and validates a cluster spec. Field names are prefixed with
// prefix (e.g. "documents[1].spec.").
func normalize(prefix string, s *api.ClusterSpec) error {
	if err := kv.ValidateName(prefix+"name", s.Name); err != nil {
		return asFieldErr("", err)
	}
	if err := kv.Product(s.Product).Validate(prefix + "product"); err != nil {
		return asFieldErr("", err)
	}

	if err := kv.ValidateName(prefix+"region", s.Region); err != nil {
		return asFieldErr("", err)
	}
	if s.Product == string(kv.ProductKafka) && s.Kafka != "" {
		return invalid(prefix+"kafka", "only a ksqldb or connect cluster works with a kafka cluster")
	}
	if s.Product != string(kv.ProductKafka) {
		if s.Kafka == "" {
			return invalid(prefix+"kafka", "a %s cluster needs the name of the kafka cluster it works with", s.Product)
		}
		if err := kv.ValidateName(prefix+"kafka", s.Kafka); err != nil {
			return asFieldErr("", err)
		}
	}
	if s.SKU == "" {
		s.SKU = DefaultSKU
	}
	if skus := profile.ProductSKUs[kv.Product(s.Product)]; !slices.Contains(skus, s.SKU) {
		return invalid(prefix+"sku", "%s is sold as %s, not %q", s.Product, strings.Join(skus, ", "), s.SKU)
	}
	if profile.MultiTenant(s.SKU) {
		// A shared cluster is not sized by the tenant: its quotas come with the SKU.
		if s.CKU == 0 {
			s.CKU = 1
		}
		if s.CKU != 1 {
			return invalid(prefix+"cku", "a %s cluster is not sized by CKU (leave it out or use 1)", s.SKU)
		}
	} else if err := validateCKU(prefix+"cku", s.CKU); err != nil {
		return err
	}
	if s.Cloud == "" {
		s.Cloud = DefaultCloud
	}
	if err := kv.ValidateName(prefix+"cloud", s.Cloud); err != nil {
		return asFieldErr("", err)
	}
	if s.Network == "" {
		s.Network = DefaultNetwork
	}
	if !slices.Contains(kv.Networks, s.Network) {
		return invalid(prefix+"network", "unknown network type %q (want public, vpc-peering or private-link)", s.Network)
	}
	return nil
}

func validateCKU(field string, cku int) error {
	if cku < MinCKU || cku > MaxCKU {
		return invalid(field, "must be between %d and %d (got %d)", MinCKU, MaxCKU, cku)
	}
	return nil
}

// decodeJSON decodes one JSON value strictly: unknown fields, wrong types, trailing data and
// oversized bodies are errors that name the field.
func decodeJSON(r io.Reader, prefix string, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFieldErr(prefix, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid(strings.TrimSuffix(prefix, ".")+"body", "unexpected data after the JSON value")
	}
	return nil
}

func jsonFieldErr(prefix string, err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		maxErr    *maxBytesErr
	)
	body := strings.TrimSuffix(prefix, ".")
	if body == "" {
		body = "body"
	}
	switch {
	case errors.As(err, &maxErr):
		return err
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = body
		} else {
			field = prefix + field
		}
		return invalid(field, "must be a %s, not a JSON %s", typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return invalid(body, "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.EOF):
		return invalid(body, "is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid(body, "truncated JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, err := strconv.Unquote(name); err == nil {
			name = unq
		}
		return unknownField(body, prefix, name)
	}
	return invalid(body, "%v", err)
}

// unknownField names an unknown field by its path, prefix+name; a name that would not read
// as one (blank, or with unprintable characters) is quoted in the message of its parent.
func unknownField(parent, prefix, name string) error {
	if strings.TrimSpace(name) == "" || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return invalid(parent, "unknown field %q", name)
	}
	return invalid(prefix+name, "unknown field")
}

// maxBytesErr is returned when a request body exceeds its limit.
type maxBytesErr struct{ limit int64 }

func (e *maxBytesErr) Error() string {
	return fmt.Sprintf("body: larger than the limit of %d bytes", e.limit)
}

// readBody reads at most limit bytes of r.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, invalid("body", "%v", err)
	}
	if int64(len(data)) > limit {
		return nil, &maxBytesErr{limit: limit}
	}
	return data, nil
}

// decodeBody reads and strictly decodes a JSON request body.
func decodeBody(r io.Reader, v any) error {
	data, err := readBody(r, maxBodyBytes)
	if err != nil {
		return err
	}
	return decodeJSON(bytes.NewReader(data), "", v)
}
