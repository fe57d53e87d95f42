// Command stepbench times training steps of this repository's models and
// prints one JSON object per model: {"name": ..., "ms": median
// milliseconds per step, "cpu_ms": the process's CPU time per step,
// "build_s": seconds to build the trainer and run
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
//	mnist-hybrid  the small MNIST hybrid preset (trainer.Preset: the
//	            classifier's model without the zero channels, density and
//	            classification loss)
//	paper-density  trainer.PaperMNISTDensity at batch 2 (3 scales × 16
//	            blocks, hidden 512, 5 power iterations, Neumann gradient)
//
// With -memory it also measures peak memory (Linux): "step_peak_mb", the
// peak resident set size of building the trainer and running its steps, and
// "eval_peak_mb", that of one held-out evaluation (trainer.Evaluate) of
// -eval-batches batches of the preset's evaluation batch (the peak does not
// grow with more batches), each phase started after a garbage collection
// that returns freed memory to the system and a reset of the kernel's
// high-water mark (/proc/self/clear_refs), so the two are separate; and
// "heap_mb", the Go heap in use after the steps and a collection (what the
// trainer holds).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
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
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
	// CPUMs is the process's CPU time (user and system, all threads) per
	// timed step, the mean over them; on a shared virtual machine it does
	// not count the time the host took away (steal), which Ms does.
	CPUMs  float64 `json:"cpu_ms"`
	BuildS float64 `json:"build_s"`
	// Allocs and AllocMB are the heap allocations and megabytes allocated
	// per timed step (runtime.MemStats over all of them).
	Allocs  float64 `json:"allocs"`
	AllocMB float64 `json:"alloc_mb"`
	// With -memory: peak resident megabytes of building and stepping, of
	// one evaluation, and the live heap after the steps.
	StepPeakMB float64 `json:"step_peak_mb,omitempty"`
	EvalPeakMB float64 `json:"eval_peak_mb,omitempty"`
	HeapMB     float64 `json:"heap_mb,omitempty"`
}

// memory, when set, makes run measure peak memory (see the command's
// documentation); evalBatches is the number of evaluation batches then.
var (
	memory      bool
	evalBatches int
	memProfile  string
)

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
	case "mnist-hybrid":
		return trainer.Preset(trainer.SmallPreset, datasets.MNIST, trainer.Hybrid, "")
	case "paper-density":
		c := trainer.PaperMNISTDensity("")
		c.BatchSize = 2
		m := *c.Model.MultiScale
		m.InitPowerIters = 5 // construction only (untimed), as TestPaperPresets
		c.Model.MultiScale = &m
		return c, nil
	}
	return trainer.Config{}, fmt.Errorf("unknown model %q", name)
}

func main() {
	models := flag.String("models", "toy,mnist-density,mnist-classifier", "comma-separated models")
	steps := flag.Int("steps", 10, "timed steps per model")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (one model per profile)")
	flag.BoolVar(&memory, "memory", false, "also measure peak resident memory of the steps and of one evaluation (Linux)")
	flag.IntVar(&evalBatches, "eval-batches", 2, "with -memory: evaluation batches")
	flag.StringVar(&memProfile, "memprofile", "", "with -memory: write a heap profile (allocations and memory in use) after the evaluation to this file")
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

// resetPeak collects garbage, returns freed memory to the system and resets
// the kernel's high-water mark of the resident set size.
func resetPeak() error {
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakMB returns the resident set size's high-water mark (VmHWM) in MB.
func peakMB() (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

func run(name string, cfg trainer.Config, steps int) (result, error) {
	if memory {
		if memProfile != "" {
			runtime.MemProfileRate = 64 << 10
		}
		if err := resetPeak(); err != nil {
			return result{}, err
		}
		cfg.EvalSize = evalBatches * cfg.EvalBatch
	}
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
	cpu0 := cpuSeconds()
	for i := range ts {
		t := time.Now()
		if _, err := tr.Step(); err != nil {
			return result{}, err
		}
		ts[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	cpu := (cpuSeconds() - cpu0) * 1e3 / float64(steps)
	runtime.ReadMemStats(&m1)
	if profileTo != nil {
		pprof.StopCPUProfile()
	}
	sort.Float64s(ts)
	r := result{Name: name, Ms: ts[steps/2], CPUMs: cpu, BuildS: build,
		Allocs:  float64(m1.Mallocs-m0.Mallocs) / float64(steps),
		AllocMB: float64(m1.TotalAlloc-m0.TotalAlloc) / float64(steps) / (1 << 20)}
	if memory {
		var err error
		if r.StepPeakMB, err = peakMB(); err != nil {
			return r, err
		}
		if err := resetPeak(); err != nil {
			return r, err
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r.HeapMB = float64(ms.HeapAlloc) / (1 << 20)
		if _, err := tr.Evaluate(); err != nil {
			return r, err
		}
		if r.EvalPeakMB, err = peakMB(); err != nil {
			return r, err
		}
		if memProfile != "" {
			f, err := os.Create(memProfile)
			if err != nil {
				return r, err
			}
			defer f.Close()
			runtime.GC() // the profile's memory in use is that of the last collection
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}
