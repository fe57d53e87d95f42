// Command graph draws the expression graph of an i-ResNet density model,
// from a checkpoint or from a configuration, as graphviz DOT with one
// labelled cluster per block, and renders it to SVG or PNG when graphviz's
// dot is installed.
//
// Usage:
//
//	go run ./cmd/graph -checkpoint runs/8gaussians -out model.dot
//	go run ./cmd/graph -blocks 2 -hidden 16 -view training -out train.dot -format png
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
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

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: graph [flags]\n\nWrites the expression graph of an i-ResNet model as DOT (one cluster per block)\nand renders it with graphviz when installed (apt-get install graphviz).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	ckpt := fs.String("checkpoint", "", "checkpoint file or run folder; empty: build from -blocks/-hidden/-act")
	out := fs.String("out", "graph.dot", "DOT output path; the rendering goes next to it with the format's extension")
	format := fs.String("format", "svg", "render with graphviz: svg, png, or none")
	viewName := fs.String("view", "forward", "forward (log p and log-det) or training (plus every gradient node)")
	batch := fs.Int("batch", 1, "batch size the graph is built for (the structure does not depend on it)")
	cfg := trainer.DefaultToyConfig()
	fs.IntVar(&cfg.Model.Blocks, "blocks", 2, "residual blocks (without -checkpoint)")
	hidden := fs.String("hidden", "16", "hidden widths, comma separated (without -checkpoint)")
	act := fs.String("act", cfg.Model.Act.String(), "activation (without -checkpoint)")
	fs.IntVar(&cfg.Terms, "terms", 2, "power-series terms (without -checkpoint)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q", fs.Args())
	}
	view, err := trainer.ParseGraphView(*viewName)
	if err != nil {
		return err
	}
	if *batch < 1 {
		return errors.Errorf("-batch %d must be ≥ 1", *batch)
	}
	if *format != "none" && *format != "svg" && *format != "png" {
		return errors.Errorf("-format %q: want svg, png or none", *format)
	}
	var t *trainer.Trainer
	if *ckpt != "" {
		path, err := trainer.CheckpointPath(*ckpt)
		if err != nil {
			return err
		}
		if t, err = trainer.Load(path); err != nil {
			return err
		}
	} else {
		if cfg.Model.Hidden, err = parseInts(*hidden); err != nil {
			return errors.Wrap(err, "-hidden")
		}
		if cfg.Model.Act, err = graph.ParseActivation(*act); err != nil {
			return errors.Wrap(err, "-act")
		}
		cfg.EvalSize, cfg.EvalBatch = 1, 1
		if t, err = trainer.New(cfg); err != nil {
			return err
		}
	}
	defer t.Close()
	var dot bytes.Buffer
	if err := t.WriteDOT(&dot, view, *batch); err != nil {
		return err
	}
	if err := os.WriteFile(*out, dot.Bytes(), 0o644); err != nil {
		return errors.Wrap(err, "writing DOT")
	}
	fmt.Fprintf(stdout, "wrote %s (%d blocks, %s view)\n", *out, t.Config().Model.Blocks, view)
	if *format == "none" {
		return nil
	}
	var img bytes.Buffer
	if err := graph.RenderDOT(dot.Bytes(), *format, &img); err != nil {
		if errors.Is(err, graph.ErrNoGraphviz) {
			fmt.Fprintf(stderr, "graph: not rendering %s: %v\n", *format, err)
			return nil
		}
		return err
	}
	rendered := strings.TrimSuffix(*out, filepath.Ext(*out)) + "." + *format
	if err := os.WriteFile(rendered, img.Bytes(), 0o644); err != nil {
		return errors.Wrap(err, "writing the rendering")
	}
	fmt.Fprintf(stdout, "wrote %s\n", rendered)
	return nil
}

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
