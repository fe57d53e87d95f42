package trainer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Limits bounds the sizes a configuration may ask for, so that a typo on
// a command line (-batch 2e9) or a corrupt or hostile checkpoint gets an
// error naming the field instead of an out-of-memory crash. The defaults
// (DefaultLimits) suit a machine with 8 to 64 GB of memory; a bigger one
// raises them with WithLimits (the commands' -limit flag). The sizes of the
// model itself (blocks, widths, channels, scales, image sides) have fixed
// bounds in package blocks, far beyond the models of the papers.
//
// A Limits is also a flag.Value: "batch=131072,terms=2000" sets those two
// fields and keeps the others.
type Limits struct {
	Batch      int // training and evaluation batch and samples per call; default 65536
	Steps      int // training and warm-up steps; default 1e9
	Terms      int // power-series terms (the roulette's maximum); default 1000
	Probes     int // Hutchinson probes per sample; default 64
	PowerIters int // power-iteration steps per training step; default 1000
}

// DefaultLimits returns the limits New, Load and Open apply unless given
// others.
func DefaultLimits() Limits {
	return Limits{Batch: MaxBatch, Steps: MaxSteps, Terms: MaxTerms, Probes: MaxProbes, PowerIters: MaxPowerIters}
}

// WithDefaults returns l with its zero fields set to DefaultLimits' values.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, d *int }{{&l.Batch, &d.Batch}, {&l.Steps, &d.Steps}, {&l.Terms, &d.Terms}, {&l.Probes, &d.Probes}, {&l.PowerIters, &d.PowerIters}} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return l
}

// fields maps the names Set takes to l's fields.
func (l *Limits) fields() map[string]*int {
	return map[string]*int{"batch": &l.Batch, "steps": &l.Steps, "terms": &l.Terms, "probes": &l.Probes, "power_iters": &l.PowerIters}
}

// Set parses a comma-separated list of name=value pairs (names batch,
// steps, terms, probes, power_iters; values ≥ 1, at most 2³¹ − 1) into l,
// keeping the fields it does not name.
func (l *Limits) Set(s string) error {
	fields := l.fields()
	for _, kv := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		p := fields[name]
		if !ok || p == nil {
			return errors.Errorf("limit %q: want name=value with name one of %s", kv, strings.Join(l.names(), ", "))
		}
		v, err := strconv.ParseInt(val, 10, 32)
		if err != nil || v < 1 {
			return errors.Errorf("limit %s=%s: want a whole number in [1, 2147483647]", name, val)
		}
		*p = int(v)
	}
	return nil
}

// String lists the limits in Set's format, the defaults for zero fields.
func (l *Limits) String() string {
	if l == nil {
		return ""
	}
	d := l.WithDefaults()
	f := d.fields()
	var parts []string
	for _, n := range l.names() {
		parts = append(parts, fmt.Sprintf("%s=%d", n, *f[n]))
	}
	return strings.Join(parts, ",")
}

func (l *Limits) names() []string {
	var n []string
	for k := range l.fields() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// An Option changes how New, Load and Open build a trainer: WithLimits,
// WithEvalMemory.
type Option func(*options)

type options struct {
	limits     Limits
	evalMemory int64
}

// DefaultEvalMemory is the default budget of the evaluation graph's values
// (WithEvalMemory): 1.5 GiB.
const DefaultEvalMemory = 3 << 29

// WithEvalMemory sets the budget, in bytes, of the values the evaluation
// graph holds, as graph.ValueBytes counts them: a graph of Config.EvalBatch
// samples that would hold more is built at a proportionally smaller batch
// (evaluation then runs in more batches; the numbers do not change). The
// count errs high (about 1.8 times the memory for the conv i-ResNets: it
// counts outputs computed in place as copies), so the default holds about
// 0.9 GB at most; of the presets it lowers the small hybrid's batch of 500
// (to 243) and the paper ones'. A value ≤ 0 means DefaultEvalMemory.
func WithEvalMemory(bytes int64) Option {
	return func(o *options) {
		if bytes <= 0 {
			bytes = DefaultEvalMemory
		}
		o.evalMemory = bytes
	}
}

// WithLimits replaces DefaultLimits; zero fields keep their default.
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l.WithDefaults() } }

func buildOptions(opts []Option) options {
	o := options{limits: DefaultLimits(), evalMemory: DefaultEvalMemory}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// LimitsUsage is the help text of the commands' -limit flag.
const LimitsUsage = "raise the size limits for a big machine: comma-separated name=value of batch (training and evaluation batch, samples per call; default 65536), steps (1e9), terms (1000), probes (64), power_iters (1000); a checkpoint trained with raised limits loads with the same -limit"
