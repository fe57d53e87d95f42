package trainer

import (
	"fmt"
	"sort"
	"testing"
)

func TestCountOps(t *testing.T) {
	tr, err := New(referenceConfig())
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	sizes := map[string]int{}
	for _, n := range tr.train.b.Graph().AllNodes() {
		if n.Op() == nil {
			continue
		}
		s := n.Op().String()
		if len(s) > 14 {
			s = s[:14]
		}
		key := fmt.Sprintf("%-14s %v", s, n.Shape())
		counts[key]++
		sizes[key] = n.Shape().TotalSize()
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]]*sizes[keys[i]] > counts[keys[j]]*sizes[keys[j]] })
	total := 0
	for _, k := range keys {
		total += counts[k]
	}
	t.Logf("total op nodes %d", total)
	for _, k := range keys[:40] {
		t.Logf("%5d  %s", counts[k], k)
	}
}
