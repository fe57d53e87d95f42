package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/trainer"
)

// TestOpsViewHasOneClusterPerBlock draws every op of a 3-block model and
// checks the DOT has exactly one top-level cluster per block, readable op
// labels, and that graphviz accepts it.
func TestOpsViewHasOneClusterPerBlock(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.dot")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-blocks", "3", "-hidden", "4", "-view", "ops", "-out", out, "-format", "none"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	dot, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile(`subgraph "cluster_(block\d+)" \{`).FindAllStringSubmatch(string(dot), -1)
	var names []string
	for _, m := range blocks {
		names = append(names, m[1])
	}
	if strings.Join(names, ",") != "block0,block1,block2" {
		t.Errorf("block clusters %v, want block0, block1, block2", names)
	}
	if bytes.Contains(dot, []byte(` false\n`)) || !bytes.Contains(dot, []byte("a + b")) {
		t.Error(`op labels still read "+ false"`)
	}
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("graphviz dot not found; install it with: apt-get install graphviz")
	}
	// The training view (254 nodes, about 25 s of graphviz) is rendered
	// once, as SVG; the PNG is of the op-level view.
	for _, fv := range [][2]string{{"svg", "training"}, {"png", "ops"}} { // the PNG last: its DOT is checked below
		format, view := fv[0], fv[1]
		if err := run([]string{"-blocks", "1", "-hidden", "4", "-terms", "1", "-out", out, "-format", format, "-view", view}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\n%s", format, err, stderr.String())
		}
		img, err := os.ReadFile(filepath.Join(dir, "m."+format))
		if err != nil || len(img) == 0 {
			t.Fatalf("no %s rendering: %v", format, err)
		}
	}
	// The PNG's DOT caps the drawing at 40×40 inches (3840 pixels at 96 dpi).
	if b, err := os.ReadFile(out); err != nil || !bytes.Contains(b, []byte(`size="40,40"`)) {
		t.Errorf("the DOT for a PNG does not cap its size (%v)", err)
	}
	cmd := exec.Command("dot", "-Tsvg", out)
	if b, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("dot -Tsvg rejected the output: %v\n%.300s", err, b)
	}
}

// TestBlocksViewIsTheSmallDefault: without -view, a 10-block model is
// drawn as ten boxes and a handful of top-level ops, far fewer nodes than
// its op-level graph, and the DOT goes to ./graphs/graph_blocks.dot.
func TestBlocksViewIsTheSmallDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-blocks", "10", "-hidden", "8", "-format", "none"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	dot, err := os.ReadFile(filepath.Join(defaultDir, "graph_blocks.dot"))
	if err != nil {
		t.Fatalf("default output: %v\n%s", err, stdout.String())
	}
	if boxes := strings.Count(string(dot), `"scope:block`); boxes < 10 {
		t.Errorf("%d mentions of block boxes, want one box per block (10) and their edges", boxes)
	}
	blocks := NodeCount(dot)
	if err := run([]string{"-blocks", "10", "-hidden", "8", "-format", "none", "-view", "ops"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	ops, err := os.ReadFile(filepath.Join(defaultDir, "graph_ops.dot"))
	if err != nil {
		t.Fatal(err)
	}
	if n := NodeCount(ops); blocks > 40 || n < 10*blocks {
		t.Errorf("blocks view %d nodes, ops view %d: want at most 40 and ten times fewer", blocks, n)
	}
	if !strings.Contains(stdout.String(), "nodes)") {
		t.Errorf("output does not give the node count:\n%s", stdout.String())
	}
}

// TestOutputPaths: with a checkpoint the files go next to it; -out may name
// a new folder (created) and carry the rendering's extension, and the DOT
// file is never overwritten by the rendering.
func TestOutputPaths(t *testing.T) {
	cfg := trainer.DefaultToyConfig()
	cfg.Model.DenseFlow.Blocks, cfg.Model.DenseFlow.Hidden, cfg.EvalSize, cfg.EvalBatch = 4, []int{4}, 1, 1
	tr, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run1 := t.TempDir()
	if err := tr.Save(filepath.Join(run1, trainer.CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-checkpoint", run1, "-format", "none"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(run1, "graph_blocks.dot")); err != nil {
		t.Errorf("not written next to the checkpoint: %v", err)
	}
	t.Setenv("PATH", "") // no graphviz: the DOT is still written, and kept
	base := filepath.Join(t.TempDir(), "new", "folder", "g")
	stdout.Reset()
	if err := run([]string{"-checkpoint", run1, "-out", base + ".svg", "-format", "svg", "-view", "training"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	dot, err := os.ReadFile(base + ".dot")
	if err != nil || !bytes.HasPrefix(dot, []byte("digraph")) {
		t.Fatalf("%s.dot: %v (%.20q)", base, err, dot)
	}
	for _, want := range []string{"warning:", "nodes is a big graph", "-view blocks", "rendering svg with graphviz"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "apt-get install graphviz") {
		t.Errorf("missing graphviz is not explained:\n%s", stderr.String())
	}
}

func TestFromCheckpointAndErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-checkpoint", "/nonexistent/x.safetensors"}, &stdout, &stderr); err == nil {
		t.Error("a missing checkpoint gave no error")
	}
	if err := run([]string{"-view", "sideways"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "blocks, ops, training") {
		t.Errorf("bad -view returned %v", err)
	}
	if err := run([]string{"-format", "gif"}, &stdout, &stderr); err == nil {
		t.Error("bad -format gave no error")
	}
	// Model flags are for a model built without -checkpoint: with one they
	// would be ignored, so they are refused before the checkpoint is read.
	if err := run([]string{"-checkpoint", "/nonexistent/x.safetensors", "-blocks", "3", "-act", "elu"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "-act, -blocks") {
		t.Errorf("-blocks and -act with -checkpoint returned %v", err)
	}
}

// TestLimitAppliesWithoutCheckpoint: -limit holds for the model cmd/graph
// builds from its own flags as well as for a checkpoint's.
func TestLimitAppliesWithoutCheckpoint(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run([]string{"-blocks", "1", "-hidden", "4", "-terms", "5", "-limit", "terms=3", "-out", filepath.Join(t.TempDir(), "g"), "-format", "none"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "[1, 3]") {
		t.Errorf("-terms 5 under -limit terms=3: %v", err)
	}
}

// TestRenderProgressStops: off a terminal, renderProgress prints nothing
// for a rendering shorter than its 30 s interval, and stop returns.
func TestRenderProgressStops(t *testing.T) {
	var w bytes.Buffer
	stop := renderProgress(&w, "graphviz: laying out 12 nodes")
	stop()
	if w.Len() != 0 {
		t.Errorf("a short rendering printed %q", w.String())
	}
}
