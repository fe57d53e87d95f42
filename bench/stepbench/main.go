// Command stepbench times training steps of this repository's models and
// prints one JSON object per model: {"name": ..., "ms": median
// milliseconds per step, "build_s": seconds to build the trainer and run
// its first step, "allocs" and "alloc_mb": heap allocations and megabytes
// allocated per timed step}. bench/compare.py runs it next to bench/torch_ref.py,
// which times the same architectures in PyTorch.
//
// Models (select with -models, comma-separated):
//
//	toy         10 blocks 2-64-64-64-2, ELU, c = 0.9, batch 500, 5-term
//	            power series with the gradient through the series, 1 probe,
//	            1 power iteration, Adam
//	mnist-density  trainer.SmallMNISTDensity with the gradient through the
//	            series: initial squeeze, 2 scales × 4 ActNorm + conv blocks,
//	            hidden 32, batch 64
//	mnist-classifier  trainer.SmallMNISTClassifier (Neumann gradient, as
//	            the preset trains)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
)

// profileTo, when set, receives a CPU profile of the timed steps (not of
// building the trainers and their first, untimed steps).
var profileTo *os.File

type result struct {
	Name   string  `json:"name"`
	Ms     float64 `json:"ms"`
	BuildS float64 `json:"build_s"`
	// Allocs and AllocMB are the heap allocations and megabytes allocated
	// per timed step (runtime.MemStats over all of them).
	Allocs  float64 `json:"allocs"`
	AllocMB float64 `json:"alloc_mb"`
}

func config(name string) (trainer.Config, error) {
	switch name {
	case "toy":
		return trainer.Config{
			Data: datasets.SourceConfig{Name: "8gaussians"},
			Model: trainer.ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 10, Hidden: []int{64, 64, 64},
				Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
			Terms: 5, Probes: 1, Gradient: estimator.SeriesGradient,
			BatchSize: 500, Seed: 1,
		}, nil
	case "mnist-density":
		c := trainer.SmallMNISTDensity("")
		c.Gradient = estimator.SeriesGradient
		return c, nil
	case "mnist-classifier":
		return trainer.SmallMNISTClassifier(""), nil
	}
	return trainer.Config{}, fmt.Errorf("unknown model %q", name)
}

func main() {
	models := flag.String("models", "toy,mnist-density,mnist-classifier", "comma-separated models")
	steps := flag.Int("steps", 10, "timed steps per model")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (one model per profile)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stepbench:", err)
			os.Exit(1)
		}
		defer f.Close()
		if strings.Contains(*models, ",") {
			fmt.Fprintln(os.Stderr, "stepbench: -cpuprofile takes one model in -models")
			os.Exit(2)
		}
		profileTo = f
	}
	blas := graph.UseFastBLAS()
	fmt.Fprintf(os.Stderr, "stepbench: %s, GOMAXPROCS %d\n", blas, runtime.GOMAXPROCS(0))
	enc := json.NewEncoder(os.Stdout)
	for _, name := range strings.Split(*models, ",") {
		cfg, err := config(name)
		if err == nil {
			var r result
			r, err = run(name, cfg, *steps)
			if err == nil {
				err = enc.Encode(r)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "stepbench: %s: %v\n", name, err)
			os.Exit(1)
		}
	}
}

func run(name string, cfg trainer.Config, steps int) (result, error) {
	t0 := time.Now()
	tr, err := trainer.New(cfg)
	if err != nil {
		return result{}, err
	}
	defer tr.Close()
	if _, err := tr.Step(); err != nil { // ActNorm initialization, warm caches
		return result{}, err
	}
	build := time.Since(t0).Seconds()
	if profileTo != nil {
		if err := pprof.StartCPUProfile(profileTo); err != nil {
			return result{}, err
		}
		defer pprof.StopCPUProfile()
	}
	ts := make([]float64, steps)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range ts {
		t := time.Now()
		if _, err := tr.Step(); err != nil {
			return result{}, err
		}
		ts[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	runtime.ReadMemStats(&m1)
	sort.Float64s(ts)
	return result{Name: name, Ms: ts[steps/2], BuildS: build,
		Allocs:  float64(m1.Mallocs-m0.Mallocs) / float64(steps),
		AllocMB: float64(m1.TotalAlloc-m0.TotalAlloc) / float64(steps) / (1 << 20)}, nil
}
