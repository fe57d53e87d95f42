package main

import (
	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
)

// logDetFlags choose and tune the training log-det estimator of an
// i-ResNet (a power series of Hutchinson traces, a Russian-roulette series,
// or the exact log-determinant).
var logDetFlags = [...]string{"estimator", "terms", "probes", "gradient"}

// refuseInapplicable returns an error naming the first flag given that the
// chosen model, task and estimator would not use, so that no flag is
// accepted and then silently ignored:
//
//   - the coupling and autoregressive families (NICE, MADE, MAF, Real NVP,
//     Glow) have exact log-dets and no spectral normalization, so the
//     estimator flags and -power-iters do not apply to them;
//   - FFJORD's log-det is an integral of traces: -probes sets its number of
//     Hutchinson vectors and -estimator exact switches to the exact trace,
//     while -terms, -gradient, -power-iters and the series estimators do not
//     apply;
//   - -task classify computes no log-det and has no prior;
//   - -vanilla switches spectral normalization off, and with it -coeff and
//     -power-iters;
//   - the exact log-det uses no series and no probes, and the roulette
//     differentiates its own estimate (-gradient is the power series').
//
// It also carries -probes into FFJORD's configuration, where it means what
// it means for the i-ResNet: Hutchinson vectors per sample.
func refuseInapplicable(o options, cfg *trainer.Config, given map[string]bool) error {
	switch {
	case o.model == "ffjord":
		for _, f := range [...]string{"terms", "gradient", "power-iters"} {
			if given[f] {
				return errors.Errorf("-%s applies to the i-ResNet's power series and spectral normalization; FFJORD's log-det is an integral of Hutchinson traces (-probes sets their number, -estimator exact the exact trace)", f)
			}
		}
		if given["estimator"] && cfg.Estimator != trainer.ExactLogDet {
			return errors.Errorf("-estimator %v applies to i-ResNets; FFJORD's log-det is an integral of Hutchinson traces (-probes sets their number) or, with -estimator exact, of exact traces", cfg.Estimator)
		}
		if given["probes"] && cfg.Model.FFJORD != nil {
			f := *cfg.Model.FFJORD
			f.Probes = cfg.Probes
			cfg.Model.FFJORD = &f
		}
	case o.model != "iresnet":
		for _, f := range append(logDetFlags[:], "power-iters") {
			if given[f] {
				return errors.Errorf("-%s applies to i-ResNets (their log-det estimator and spectral normalization); -model %s computes its log-determinant exactly and has no spectral normalization", f, o.model)
			}
		}
	}
	if cfg.Objective.Task == trainer.Classify {
		for _, f := range logDetFlags {
			if given[f] {
				return errors.Errorf("-%s sets the log-det estimator, and -task classify computes no log-det (-task density or hybrid do)", f)
			}
		}
		if given["learned-prior"] {
			return errors.New("-learned-prior: -task classify has no prior on the latent (-task density or hybrid do)")
		}
	}
	if o.vanilla {
		for _, f := range [...]string{"coeff", "power-iters"} {
			if given[f] {
				return errors.Errorf("-%s sets the spectral normalization, which -vanilla switches off", f)
			}
		}
	}
	switch cfg.Estimator {
	case trainer.ExactLogDet:
		for _, f := range [...]string{"terms", "probes", "gradient"} {
			if given[f] {
				return errors.Errorf("-%s does not apply to -estimator exact, which computes the log-determinant (or trace) from the full Jacobian: no series, no probes", f)
			}
		}
	case trainer.RussianRoulette:
		if given["gradient"] {
			return errors.New("-gradient chooses how the power series is differentiated; -estimator roulette differentiates its own unbiased estimate")
		}
	}
	return nil
}
