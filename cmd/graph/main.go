// Command graph draws the expression graph of an i-ResNet model, from a
// checkpoint or from a configuration, as graphviz DOT, and renders it to
// SVG or PNG when graphviz's dot is installed.
//
// The default view, blocks, draws each residual block (or scale) as one
// box summarizing its layers, parameters and ops, with the shapes flowing
// between them: it renders in seconds for any model. -view ops draws every
// op of log p(x) inside one cluster per block and layer, and -view
// training adds every gradient node; both grow with the model (thousands
// of nodes for the README's 10-block toy model) and the command says how
// many nodes graphviz has to lay out before it starts.
//
// Output goes next to the checkpoint (RUN/graph_<view>.dot and .svg), or
// into the folder "graphs" without -checkpoint; -out names another path.
// The DOT file and the rendering always have different names.
//
// Usage:
//
//	go run ./cmd/graph -checkpoint runs/8gaussians
//	go run ./cmd/graph -blocks 2 -hidden 16 -view training -out pics/train -format png
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/console"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/modelgraph"
	"github.com/pkg/errors"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "graph:", err)
		os.Exit(1)
	}
}

// Rendering limits. A graph with more than bigGraph nodes takes graphviz
// minutes; a PNG is scaled to at most pngInches at 96 dpi (about 3800
// pixels a side), which image viewers open.
const (
	bigGraph  = 400
	pngInches = "40,40"
)

// defaultDir is the output folder without -checkpoint.
const defaultDir = "graphs"

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: graph [flags]

Writes the expression graph of an i-ResNet model as graphviz DOT and renders it
when graphviz is installed (apt-get install graphviz). Views: blocks (default:
one box per block, renders in seconds), ops (every op of log p(x), one cluster
per block) and training (ops plus every gradient node; large). Output goes next
to the checkpoint, or into ./%s, as graph_<view>.dot and graph_<view>.<format>.

Flags:
`, defaultDir)
		fs.PrintDefaults()
	}
	ckpt := fs.String("checkpoint", "", "checkpoint file or run folder; empty: build from -blocks/-hidden/-act")
	out := fs.String("out", "", "output path without extension (a .dot, .svg or .png extension is dropped); folders are created (default: RUN/graph_<view>, or "+defaultDir+"/graph_<view> without -checkpoint)")
	format := fs.String("format", "svg", "render with graphviz: svg, png, or none")
	var limits trainer.Limits
	fs.Var(&limits, "limit", trainer.LimitsUsage)
	viewName := fs.String("view", "blocks", "blocks (one box per block), ops (every op of log p(x)) or training (plus every gradient node)")
	batch := fs.Int("batch", 1, "batch size the graph is built for (the structure does not depend on it)")
	cfg := trainer.DefaultToyConfig()
	m := cfg.Model.DenseFlow
	fs.IntVar(&m.Blocks, "blocks", 2, "residual blocks (without -checkpoint)")
	hidden := fs.String("hidden", "16", "hidden widths, comma separated (without -checkpoint)")
	act := fs.String("act", m.Act.String(), "activation (without -checkpoint)")
	fs.IntVar(&cfg.Terms, "terms", 2, "power-series terms (without -checkpoint)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q (flags start with -)", fs.Args())
	}
	view, err := modelgraph.ParseView(*viewName)
	if err != nil {
		return errors.Wrap(err, "-view")
	}
	if *batch < 1 {
		return errors.Errorf("-batch %d must be ≥ 1", *batch)
	}
	if *format != "none" && *format != "svg" && *format != "png" {
		return errors.Errorf("-format %q: want svg, png or none", *format)
	}
	// The model: a checkpoint's opened for inference (no dataset is
	// read), or a fresh toy trainer's.
	var t *trainer.Trained
	dir := defaultDir
	if *ckpt != "" {
		var model []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "blocks", "hidden", "act", "terms":
				model = append(model, "-"+f.Name)
			}
		})
		if len(model) > 0 {
			return errors.Errorf("%s describe a model built without -checkpoint; the checkpoint's model is drawn as it is", strings.Join(model, ", "))
		}
		path, err := trainer.CheckpointPath(*ckpt)
		if err != nil {
			return err
		}
		m, err := trainer.Open(path, trainer.WithLimits(limits))
		if err != nil {
			return err
		}
		t = m
		dir = filepath.Dir(path)
	} else {
		if m.Hidden, err = parseInts(*hidden); err != nil {
			return errors.Wrap(err, "-hidden")
		}
		if m.Act, err = graph.ParseActivation(*act); err != nil {
			return errors.Wrap(err, "-act")
		}
		cfg.EvalSize, cfg.EvalBatch = 1, 1
		tr, err := trainer.New(cfg, trainer.WithLimits(limits))
		if err != nil {
			return err
		}
		defer tr.Close()
		t = tr.Trained()
	}
	defer t.Close()
	base := filepath.Join(dir, "graph_"+view.String())
	if *out != "" {
		base = *out
		if ext := filepath.Ext(base); ext == ".dot" || ext == ".svg" || ext == ".png" {
			base = strings.TrimSuffix(base, ext)
		}
	}
	size := ""
	if *format == "png" {
		size = pngInches
	}
	var dot bytes.Buffer
	if err := modelgraph.Write(&dot, t, modelgraph.Options{View: view, Batch: *batch, Size: size}); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return errors.Wrap(err, "creating the output folder")
	}
	dotPath := base + ".dot"
	if err := os.WriteFile(dotPath, dot.Bytes(), 0o644); err != nil {
		return errors.Wrap(err, "writing DOT")
	}
	n := NodeCount(dot.Bytes())
	fmt.Fprintf(stdout, "wrote %s (%s view, %d nodes)\n", dotPath, view, n)
	if *format == "none" {
		return nil
	}
	if n > bigGraph {
		fmt.Fprintf(stdout, "warning: %d nodes is a big graph: graphviz may take minutes (about 2 for the ops view of the 10-block toy model, more than 6 for its training view); -view blocks draws one box per block, -format none writes only the DOT\n", n)
	}
	fmt.Fprintf(stdout, "rendering %s with graphviz (%d nodes)…\n", *format, n)
	start := time.Now()
	var img bytes.Buffer
	stop := renderProgress(stderr, fmt.Sprintf("graphviz: laying out %d nodes", n))
	err = graph.RenderDOT(dot.Bytes(), *format, &img)
	stop()
	if err != nil {
		if errors.Is(err, graph.ErrNoGraphviz) {
			fmt.Fprintf(stderr, "graph: not rendering %s: %v\n", *format, err)
			return nil
		}
		return err
	}
	rendered := base + "." + *format
	if err := os.WriteFile(rendered, img.Bytes(), 0o644); err != nil {
		return errors.Wrap(err, "writing the rendering")
	}
	fmt.Fprintf(stdout, "wrote %s in %.1f s\n", rendered, time.Since(start).Seconds())
	return nil
}

// renderProgress shows that graphviz is still at work until stop is
// called: a spinner with the elapsed seconds on a terminal, elsewhere a
// line every 30 s (a big graph takes minutes and graphviz says nothing).
func renderProgress(w io.Writer, what string) (stop func()) {
	if console.IsTerminal(w) {
		return console.Spinner(w, what, 250*time.Millisecond)
	}
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(30 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(w, "%s: still running after %v\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// nodeStmt matches a DOT node statement of graph.Builder.WriteDOT: an op or
// input ("n12 [label=…") or a collapsed scope ("\"scope:block0\" [label=…").
var nodeStmt = regexp.MustCompile(`(?m)^\s*(n\d+|"scope:[^"]*") \[label=`)

// NodeCount returns the number of nodes a DOT text of WriteDOT declares:
// what graphviz will have to lay out.
func NodeCount(dot []byte) int { return len(nodeStmt.FindAll(dot, -1)) }

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, errors.Errorf("%q is not a comma-separated list of positive widths", s)
		}
		out = append(out, v)
	}
	return out, nil
}
