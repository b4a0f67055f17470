package satellite

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func racksOf(n int) map[int32]string {
	m := map[int32]string{}
	for i := range n {
		m[int32(1000+i)] = fmt.Sprintf("zone-%d", i%3)
	}
	return m
}

func ids(from, to int) []int32 {
	var out []int32
	for i := from; i < to; i++ {
		out = append(out, int32(1000+i))
	}
	return out
}

// checkSpread fails unless every replica is on keep, per-broker loads differ by at most
// one, every partition's replicas are on distinct racks, and leaders are spread evenly.
func checkSpread(t *testing.T, a assignment, keep []int32, rack map[int32]string) {
	t.Helper()
	for topic, parts := range a {
		load, leads := map[int32]int{}, map[int32]int{}
		for p, r := range parts {
			seen := map[string]bool{}
			for _, b := range r {
				if !slices.Contains(keep, b) {
					t.Errorf("%s/%d on broker %d, not kept", topic, p, b)
				}
				if seen[rack[b]] {
					t.Errorf("%s/%d has two replicas in %s: %v", topic, p, rack[b], r)
				}
				seen[rack[b]] = true
				load[b]++
			}
			leads[r[0]]++
		}
		lo, hi, llo, lhi := len(parts)*3, 0, len(parts), 0
		for _, b := range keep {
			lo, hi = min(lo, load[b]), max(hi, load[b])
			llo, lhi = min(llo, leads[b]), max(lhi, leads[b])
		}
		if hi-lo > 1 || lhi-llo > 1 {
			t.Errorf("%s: replicas per broker %v, leaders %v", topic, load, leads)
		}
	}
}

func TestBalanceSpreadsOntoNewBrokers(t *testing.T) {
	rack := racksOf(6)
	cur := assignment{"orders": {}, "payments": {}}
	for p := range 12 {
		cur["orders"] = append(cur["orders"], []int32{1000 + int32(p%3), 1000 + int32((p+1)%3), 1000 + int32((p+2)%3)})
	}
	for p := range 6 {
		cur["payments"] = append(cur["payments"], []int32{1000 + int32(p%3)})
	}
	got := balance(cur, ids(0, 6), rack)
	checkSpread(t, got, ids(0, 6), rack)
	moved := 0
	for p, r := range got["orders"] {
		for _, b := range r {
			if !slices.Contains(cur["orders"][p], b) {
				moved++
			}
		}
	}
	if moved != 18 { // half of the 36 replicas must move to the three new brokers, no more
		t.Errorf("%d replicas moved, want 18", moved)
	}
	if again := balance(got, ids(0, 6), rack); !reflect.DeepEqual(again, got) {
		t.Errorf("a balanced assignment is moved again:\n%v\n%v", got, again)
	}
}

func TestBalanceDrainsLeavingBrokers(t *testing.T) {
	rack := racksOf(6)
	cur := assignment{"orders": {}}
	for p := range 12 {
		cur["orders"] = append(cur["orders"], []int32{1000 + int32(p%6), 1000 + int32((p+1)%6), 1000 + int32((p+2)%6)})
	}
	got := balance(cur, ids(0, 3), rack)
	checkSpread(t, got, ids(0, 3), rack)
}

func TestBalanceLeavesTopicsWiderThanTheBrokers(t *testing.T) {
	cur := assignment{"wide": {{1000, 1001, 1002, 1003}}}
	got := balance(cur, ids(0, 3), racksOf(4))
	if !reflect.DeepEqual(got, cur) {
		t.Errorf("a topic of RF 4 on 3 brokers was changed: %v", got)
	}
}

// A drain that cannot finish for lack of brokers or racks is held with its own reason, not
// the drain deadline's, and the renderer's hook keeps every broker with that reason.
func TestDrainShortfall(t *testing.T) {
	rf3 := assignment{"orders": {{1000, 1001, 1002}, {1001, 1002, 1003}}}
	rf2 := assignment{"orders": {{1000, 1001}, {1002, 1003}}}
	cases := []struct {
		name    string
		current assignment
		racks   map[int32]string
		keep    []int32
		reason  string
		msg     string
	}{
		{"replication factor above the brokers left", rf3, racksOf(4), ids(0, 2), reasonTooFewBrokers, "replication factor 3"},
		{"enough brokers and racks", rf3, racksOf(4), ids(0, 3), "", ""},
		{"brokers left on one rack", rf2,
			map[int32]string{1000: "a", 1001: "b", 1002: "a", 1003: "b"}, []int32{1000, 1002}, reasonTooFewRacks, "span 1 racks, replicas are spread over 2"},
		{"brokers left on both racks", rf2,
			map[int32]string{1000: "a", 1001: "b", 1002: "a", 1003: "b"}, []int32{1000, 1001}, "", ""},
		{"no racks", rf2, map[int32]string{}, []int32{1000, 1002}, "", ""},
	}
	for _, c := range cases {
		v := &clusterView{current: c.current, racks: c.racks}
		reason, msg := v.shortfall(c.keep)
		if reason != c.reason || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: shortfall %q %q, want %q %q", c.name, reason, msg, c.reason, c.msg)
		}
		if reason == reasonDrainDeadline {
			t.Errorf("%s: a shortfall reads as the drain deadline", c.name)
		}
	}

	rb := newRebalancer(time.Minute)
	rb.set("c", &drainState{target: 2, empty: map[int32]bool{}, held: "scale-down to 2 brokers held: x", reason: reasonTooFewRacks})
	if n, msg, reason := rb.brokers("c", 4, 2); n != 4 || reason != reasonTooFewRacks || !strings.Contains(msg, "held") {
		t.Errorf("held drain: %d brokers, %q %q", n, msg, reason)
	}
	rb.set("c", &drainState{target: 2, empty: map[int32]bool{3: true}})
	if n, _, reason := rb.brokers("c", 4, 2); n != 3 || reason != "" {
		t.Errorf("drained broker: %d brokers, reason %q", n, reason)
	}
}
