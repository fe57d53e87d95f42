#!/usr/bin/env python3
"""Side-by-side timing of this repository's Go code against PyTorch.

    python3 bench/compare.py [--rounds 5] [--tags openblas] [conv|steps]
    python3 bench/compare.py --rounds 3 --models paper-density --steps 3 steps

builds bench/convbench (conv: the convolution kernels) or bench/stepbench
(steps: training steps of the toy and small MNIST models), pure Go or with
the given build tags, then runs it and bench/torch_ref.py alternately,
--rounds times each, on the same machine, and prints per kernel or model
the median over rounds of each side's median time per call, the achieved
GFLOP/s (kernels), the ratio Go / PyTorch (below 1: Go is faster) and, for
steps, the Go side's heap allocations per step. --models picks the step
models (comma-separated; default toy, mnist-density, mnist-classifier;
paper-density is trainer.PaperMNISTDensity at batch 2) and --steps the timed
steps per model and run (default 10). PyTorch runs with
OMP_WAIT_POLICY=PASSIVE and --threads threads; Go with GOMAXPROCS=--threads.

The interpreter must import torch (Debian: apt-get install python3-torch);
run the script with that interpreter. Other work on the machine shows in
the numbers: alternating the runs spreads it over both sides, and the
medians damp it, but a quiet machine is what gives clean ratios.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", nargs="?", default="conv", choices=["conv", "steps"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tags", default="", help="Go build tags, e.g. openblas")
    ap.add_argument("--models", default="toy,mnist-density,mnist-classifier", help="steps: comma-separated models")
    ap.add_argument("--steps", type=int, default=10, help="steps: timed steps per model and run")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="iresnet-bench-")
    pkg = {"conv": "convbench", "steps": "stepbench"}[args.bench]
    gobin = os.path.join(tmp, pkg)
    build = ["go", "build", "-o", gobin]
    if args.tags:
        build += ["-tags", args.tags]
    subprocess.run(build + ["./bench/" + pkg], cwd=ROOT, check=True)

    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", GOMAXPROCS=str(args.threads))
    go_cmd = [gobin]
    py_cmd = [sys.executable, os.path.join(HERE, "torch_ref.py"), args.bench, str(args.threads)]
    if args.bench == "steps":
        go_cmd += ["-models", args.models, "-steps", str(args.steps)]
        py_cmd += [args.models, str(args.steps)]

    times = {"go": {}, "torch": {}}
    flops = {}
    allocs = {}  # Go side: heap allocations and MB allocated per step
    order = []
    for r in range(args.rounds):
        for side, cmd in (("go", go_cmd), ("torch", py_cmd)) if r % 2 == 0 else (("torch", py_cmd), ("go", go_cmd)):
            for res in run_json(cmd, env):
                name = res["name"]
                if name not in order:
                    order.append(name)
                times[side].setdefault(name, []).append(res["ms"])
                if "gflops" in res:
                    flops[name] = res["gflops"] * res["ms"] * 1e6
                if side == "go" and "allocs" in res:
                    allocs.setdefault(name, []).append((res["allocs"], res["alloc_mb"]))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    label = "Go" + (f" ({args.tags})" if args.tags else " (pure Go)")
    print(f"{args.rounds} alternating rounds, {args.threads} threads; median ms per call, ratio Go / PyTorch")
    if flops:
        print(f"| kernel | {label} ms | GFLOP/s | PyTorch ms | GFLOP/s | Go / PyTorch |")
        print("| --- | --- | --- | --- | --- | --- |")
    else:
        print(f"| step | {label} ms | PyTorch ms | Go / PyTorch |")
        print("| --- | --- | --- | --- |")
    for name in order:
        g = statistics.median(times["go"][name])
        t = statistics.median(times["torch"][name])
        if name in flops:
            f = flops[name]
            print(f"| {name} | {g:.3f} | {f / g / 1e6:.0f} | {t:.3f} | {f / t / 1e6:.0f} | {g / t:.2f} |")
        else:
            print(f"| {name} | {g:.1f} | {t:.1f} | {g / t:.2f} |")
    if allocs:
        print("Go heap allocations per step (median): " + "; ".join(
            f"{name} {statistics.median(a for a, _ in allocs[name]):.0f} ({statistics.median(m for _, m in allocs[name]):.0f} MB)"
            for name in order if name in allocs))


if __name__ == "__main__":
    main()
