package trainer

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/internal/imagetest"
)

// TestBlocksViewBoxes: the blocks view draws one box per block, at the top
// level for a toy chain and inside a cluster per scale for an image model,
// and far fewer nodes than the op-level view.
func TestBlocksViewBoxes(t *testing.T) {
	nodes := regexp.MustCompile(`(?m)^\s*(n\d+|"scope:[^"]*") \[label=`)
	boxes := regexp.MustCompile(`(?m)^\s*"scope:([^"]*)" \[label=`)
	for _, c := range []struct {
		name    string
		cfg     Config
		box     string // a box that must be drawn
		cluster string // a cluster that must hold boxes ("" for none)
	}{
		{"toy", tinyConfig(1), "block1", ""},
		{"image", imageConfig(imagetest.TinyMNIST(t)), "scale1/block0", `subgraph "cluster_scale1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newTrainer(t, c.cfg)
			var blocks, ops bytes.Buffer
			if err := tr.WriteDOT(&blocks, BlocksView, 1, ""); err != nil {
				t.Fatal(err)
			}
			if err := tr.WriteDOT(&ops, ForwardView, 1, ""); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range boxes.FindAllStringSubmatch(blocks.String(), -1) {
				names = append(names, m[1])
			}
			if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+c.box+" ") {
				t.Errorf("boxes %v lack %s", names, c.box)
			}
			if !regexp.MustCompile(`\\n\d+ ops"`).MatchString(blocks.String()) {
				t.Error("no box counts its ops (a residual block has more than three)")
			}
			if c.cluster != "" && !strings.Contains(blocks.String(), c.cluster) {
				t.Errorf("no %s around the scale's boxes", c.cluster)
			}
			nb, no := len(nodes.FindAllString(blocks.String(), -1)), len(nodes.FindAllString(ops.String(), -1))
			if 4*nb > no {
				t.Errorf("blocks view has %d nodes, ops view %d: want at least four times fewer", nb, no)
			}
		})
	}
}
