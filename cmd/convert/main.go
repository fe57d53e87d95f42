// Command convert rewrites a checkpoint written by an earlier version of
// this library (formats iresnet-go/density/v1 and v1.1) in the current
// format, so that cmd/eval, cmd/sample, cmd/graph, cmd/train -resume and
// trainer.Open read it. The weights, power-iteration state, optimizer
// moments, weight average, step and random state carry over unchanged;
// only names and layout change (trainer.ConvertV1).
//
// Usage:
//
//	go run ./cmd/convert -in runs/8gaussians/checkpoint.safetensors
//
// writes runs/8gaussians/checkpoint.v2.safetensors next to it; -out names
// another file. The input is never modified, and an existing output is an
// error unless -force is given.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "convert:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: convert -in OLD.safetensors [-out NEW.safetensors]\n\nRewrites a checkpoint of an earlier version of this library (format\niresnet-go/density/v1 or v1.1) in the current format, %s.\n\nFlags:\n", trainer.CheckpointFormat)
		fs.PrintDefaults()
	}
	in := fs.String("in", "", "the old checkpoint file, or a run folder holding "+trainer.CheckpointFile+" (required)")
	out := fs.String("out", "", "the converted file (default: next to the input, with .v2 before .safetensors)")
	force := fs.Bool("force", false, "replace an existing output file")
	var limits trainer.Limits
	fs.Var(&limits, "limit", trainer.LimitsUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q (flags start with -)", fs.Args())
	}
	if *in == "" {
		return errors.New("-in is required: the checkpoint to convert")
	}
	src, err := trainer.CheckpointPath(*in)
	if err != nil {
		return err
	}
	dst := *out
	if dst == "" {
		dst = strings.TrimSuffix(src, filepath.Ext(src)) + ".v2.safetensors"
	}
	if abs(dst) == abs(src) {
		return errors.Errorf("-out %s is the input: the original is kept; name another file", dst)
	}
	if _, err := os.Stat(dst); err == nil && !*force {
		return errors.Errorf("%s exists: pass -force to replace it, or another -out", dst)
	}
	if err := trainer.ConvertV1(src, dst, trainer.WithLimits(limits)); err != nil {
		return err
	}
	m, err := trainer.Open(dst, trainer.WithLimits(limits)) // what every command will do with it
	if err != nil {
		return errors.Wrap(err, "reading the converted checkpoint back")
	}
	defer m.Close()
	fmt.Fprintf(stdout, "converted %s (step %d, %s model) → %s\n", src, m.Steps(), m.Config().Model.Name(), dst)
	if filepath.Base(src) == trainer.CheckpointFile && *out == "" {
		fmt.Fprintf(stdout, "to use it as the run's checkpoint: mv %s %s\n", dst, src)
	}
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
