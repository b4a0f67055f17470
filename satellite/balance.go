package satellite

import (
	"cmp"
	"maps"
	"slices"
)

// The balancer: where a Kafka cluster's replicas should live. It is a pure function of
// the current assignment, the brokers that keep replicas and their racks; the satellite
// (rebalance.go) submits the partitions whose replica list it changes.

// assignment is a topic's replicas per partition, by partition number; the first replica of
// each list is its preferred leader.
type assignment map[string][][]int32

// balance returns the assignment that holds every replica on keep (brokers leaving lose
// theirs), with each topic's replicas spread evenly over keep (no broker more than one
// above another), a partition's replicas on distinct racks where the racks allow it, and
// preferred leaders spread evenly; it moves as few replicas as that takes. A topic whose
// replication factor exceeds len(keep) is left as it is.
func balance(current assignment, keep []int32, rack map[int32]string) assignment {
	keep = slices.Sorted(slices.Values(keep))
	out := assignment{}
	for _, topic := range slices.Sorted(maps.Keys(current)) {
		parts := current[topic]
		rf := 0
		for _, r := range parts {
			rf = max(rf, len(r))
		}
		if rf == 0 || rf > len(keep) {
			out[topic] = clonePlan(parts)
			continue
		}
		out[topic] = balanceTopic(clonePlan(parts), keep, rack)
	}
	return out
}

func clonePlan(parts [][]int32) [][]int32 {
	out := make([][]int32, len(parts))
	for i, r := range parts {
		out[i] = slices.Clone(r)
	}
	return out
}

func balanceTopic(parts [][]int32, keep []int32, rack map[int32]string) [][]int32 {
	load := map[int32]int{}
	for _, b := range keep {
		load[b] = 0
	}
	for _, r := range parts {
		for _, b := range r {
			if _, ok := load[b]; ok {
				load[b]++
			}
		}
	}
	// racksOf counts the racks used by a partition's replicas other than the one at skip.
	racksOf := func(r []int32, skip int) map[string]int {
		m := map[string]int{}
		for i, b := range r {
			if i != skip {
				m[rack[b]]++
			}
		}
		return m
	}
	// best picks the broker of keep to take replica r[i]: the least loaded broker not
	// already a replica, preferring a rack the partition does not use yet.
	best := func(r []int32, i int) (int32, bool) {
		used := racksOf(r, i)
		var pick int32
		found := false
		for _, b := range keep {
			if slices.Contains(r, b) {
				continue
			}
			if !found || less(load[b], used[rack[b]], load[pick], used[rack[pick]]) {
				pick, found = b, true
			}
		}
		return pick, found
	}
	// Replicas on brokers that leave move first.
	for _, r := range parts {
		for i, b := range r {
			if _, ok := load[b]; ok {
				continue
			}
			if c, ok := best(r, i); ok {
				r[i] = c
				load[c]++
			}
		}
	}
	// Then from the most to the least loaded broker until no two differ by more than one.
	for range len(parts) * len(keep) {
		hi, lo := keep[0], keep[0]
		for _, b := range keep {
			if load[b] > load[hi] {
				hi = b
			}
			if load[b] < load[lo] {
				lo = b
			}
		}
		if load[hi]-load[lo] <= 1 {
			break
		}
		moved := false
		for _, r := range parts {
			i := slices.Index(r, hi)
			if i < 0 || slices.Contains(r, lo) {
				continue
			}
			// Do not put two replicas in one rack when the partition had them apart.
			used := racksOf(r, i)
			if used[rack[lo]] > 0 && used[rack[hi]] == 0 {
				continue
			}
			r[i] = lo
			load[hi]--
			load[lo]++
			moved = true
			break
		}
		if !moved {
			break
		}
	}
	// Preferred leaders: each partition's first replica is the one of its replicas that
	// leads the fewest partitions so far (its current first replica on a tie).
	leads := map[int32]int{}
	for _, r := range parts {
		if len(r) == 0 {
			continue
		}
		li := 0
		for i, b := range r {
			if leads[b] < leads[r[li]] {
				li = i
			}
		}
		r[0], r[li] = r[li], r[0]
		leads[r[0]]++
	}
	return parts
}

// less orders candidate brokers: a rack the partition uses less, then a lighter load.
func less(loadA, rackUseA, loadB, rackUseB int) bool {
	return cmp.Or(cmp.Compare(rackUseA, rackUseB), cmp.Compare(loadA, loadB)) < 0
}
