package app

import (
	"io"
	"slices"
	"testing"
)

func TestInterspersed(t *testing.T) {
	a := New(io.Discard, io.Discard)
	for _, tc := range []struct{ in, want []string }{
		{[]string{"orbit", "cluster", "get", "demo", "-o", "json"}, []string{"orbit", "-o", "json", "cluster", "get", "demo"}},
		{[]string{"orbit", "cluster", "create", "demo", "--cku", "2", "--region", "r", "--wait"}, []string{"orbit", "cluster", "create", "--cku", "2", "--region", "r", "--wait", "demo"}},
		{[]string{"orbit", "--server", "http://x", "cluster", "list"}, []string{"orbit", "--server", "http://x", "cluster", "list"}},
		{[]string{"orbit", "apply", "-f", "-", "--output=yaml"}, []string{"orbit", "--output=yaml", "apply", "-f", "-"}},
		{[]string{"orbit", "cluster", "delete", "--", "-weird"}, []string{"orbit", "cluster", "delete", "--", "-weird"}},
	} {
		if got := Interspersed(a, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Interspersed(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
