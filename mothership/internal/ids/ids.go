// Package ids makes the mothership's identifiers: random ids with a kind prefix
// (lkc-…, pkc-…, t-…, key-…) and the physical id a dedicated cluster derives from its
// logical one.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// LowerBase32 encodes ids and keys in lower case, so they are DNS-1123 labels.
var LowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// New returns a random id: prefix, a dash and 48 random bits.
func New(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + LowerBase32.EncodeToString(b[:])
}

// Physical derives a dedicated physical cluster's id from the logical one: lkc-x → pkc-x.
func Physical(logicalID string) string {
	prefix, rest, ok := strings.Cut(logicalID, "-")
	if !ok || len(prefix) < 2 {
		return "p" + logicalID
	}
	return "p" + prefix[1:] + "-" + rest
}
