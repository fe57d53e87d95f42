package modelgraph

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/internal/imagetest"
	"github.com/iresnet/iresnet/internal/traintest"
	"github.com/iresnet/iresnet/trainer"
)

// TestBlocksViewBoxes: the blocks view draws one box per block, at the top
// level for a toy chain and inside a cluster per scale for an image model,
// and far fewer nodes than the op-level view, which in turn has fewer than
// the training view.
func TestBlocksViewBoxes(t *testing.T) {
	nodes := regexp.MustCompile(`(?m)^\s*(n\d+|"scope:[^"]*") \[label=`)
	boxes := regexp.MustCompile(`(?m)^\s*"scope:([^"]*)" \[label=`)
	for _, c := range []struct {
		name    string
		cfg     trainer.Config
		box     string // a box that must be drawn
		cluster string // a cluster that must hold boxes ("" for none)
	}{
		{"toy", traintest.Toy(1), "block1", ""},
		{"image", traintest.Image(imagetest.TinyMNIST(t)), "scale1/block0", `subgraph "cluster_scale1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := traintest.New(t, c.cfg).Trained()
			var blocks, ops, training bytes.Buffer
			for _, v := range []struct {
				view View
				buf  *bytes.Buffer
			}{{Blocks, &blocks}, {Ops, &ops}, {Training, &training}} {
				if err := Write(v.buf, m, Options{View: v.view}); err != nil {
					t.Fatalf("%v view: %v", v.view, err)
				}
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
			nb, no, nt := len(nodes.FindAllString(blocks.String(), -1)), len(nodes.FindAllString(ops.String(), -1)), len(nodes.FindAllString(training.String(), -1))
			if 4*nb > no {
				t.Errorf("blocks view has %d nodes, ops view %d: want at least four times fewer", nb, no)
			}
			if nt <= no {
				t.Errorf("training view has %d nodes, ops view %d: the gradients are missing", nt, no)
			}
			if !strings.Contains(training.String(), "gradients") || !strings.Contains(blocks.String(), "block by block") {
				t.Error("the titles do not say which view is drawn")
			}
		})
	}
}

func TestParseView(t *testing.T) {
	for s, want := range map[string]View{"blocks": Blocks, "ops": Ops, "forward": Ops, "training": Training} {
		if v, err := ParseView(s); err != nil || v != want {
			t.Errorf("ParseView(%q) = %v, %v; want %v", s, v, err, want)
		}
	}
	if _, err := ParseView("everything"); err == nil || !strings.Contains(err.Error(), "blocks, ops, training") {
		t.Errorf("unknown view: %v", err)
	}
	if err := Write(&bytes.Buffer{}, nil, Options{View: 7}); err == nil {
		t.Error("view 7 accepted")
	}
}
