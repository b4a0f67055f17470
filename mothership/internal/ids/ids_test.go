package ids

import "testing"

func TestPhysical(t *testing.T) {
	for in, want := range map[string]string{"lkc-abc": "pkc-abc", "lksqlc-x": "pksqlc-x", "lcc-1": "pcc-1", "x": "px"} {
		if got := Physical(in); got != want {
			t.Errorf("Physical(%q) = %q, want %q", in, got, want)
		}
	}
}
