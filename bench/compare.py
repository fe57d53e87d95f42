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
steps, each side's CPU time per step (user and system, all threads: on a
virtual machine it leaves out the time the host took away, which the wall
times include; the share the host took during the runs is printed) and the
Go side's heap allocations per step. --models picks the step
models (comma-separated; default toy, mnist-density, mnist-classifier;
paper-density is trainer.PaperMNISTDensity at batch 2) and --steps the timed
steps per model and run (default 10). PyTorch runs with
OMP_WAIT_POLICY=PASSIVE and --threads threads (OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS too: Debian's PyTorch calls
OpenBLAS for matrix products once it is installed); Go with
GOMAXPROCS=--threads.

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


def cpu_ticks():
    """Returns (steal, total) clock ticks of all CPUs from /proc/stat, or
    None where it is not readable (not Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]:
    # guest time is already inside user and nice.
    return fields[7] if len(fields) > 7 else 0, sum(fields[:8])


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

    # Every thread pool either side may use gets --threads: OpenMP's (PyTorch
    # and oneDNN) and the BLAS's that PyTorch's matrix products call (Debian
    # links libblas.so.3, OpenBLAS once libopenblas is installed, whose
    # default is a thread per core: "1 thread" would otherwise run two).
    n = str(args.threads)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n,
               MKL_NUM_THREADS=n, GOMAXPROCS=n)
    go_cmd = [gobin]
    py_cmd = [sys.executable, os.path.join(HERE, "torch_ref.py"), args.bench, str(args.threads)]
    if args.bench == "steps":
        go_cmd += ["-models", args.models, "-steps", str(args.steps)]
        py_cmd += [args.models, str(args.steps)]

    times = {"go": {}, "torch": {}}
    cpus = {"go": {}, "torch": {}}  # steps: CPU ms per step
    ticks0 = cpu_ticks()
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
                if "cpu_ms" in res:
                    cpus[side].setdefault(name, []).append(res["cpu_ms"])
                if "gflops" in res:
                    flops[name] = res["gflops"] * res["ms"] * 1e6
                if side == "go" and "allocs" in res:
                    allocs.setdefault(name, []).append((res["allocs"], res["alloc_mb"]))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    ticks1 = cpu_ticks()
    label = "Go" + (f" ({args.tags})" if args.tags else " (pure Go)")
    print(f"{args.rounds} alternating rounds, {args.threads} threads; median ms per call, ratio Go / PyTorch")
    if ticks0 and ticks1 and ticks1[1] > ticks0[1]:
        # On a virtual machine the host may run others on our CPUs; the
        # share it took during the runs says how far to trust wall times.
        print(f"CPU time taken by the host (steal) during the runs: {100 * (ticks1[0] - ticks0[0]) / (ticks1[1] - ticks0[1]):.0f}%")
    if flops:
        print(f"| kernel | {label} ms | GFLOP/s | PyTorch ms | GFLOP/s | Go / PyTorch |")
        print("| --- | --- | --- | --- | --- | --- |")
    else:
        print(f"| step | {label} ms | PyTorch ms | Go / PyTorch | {label} CPU ms | PyTorch CPU ms | CPU Go / PyTorch |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in order:
        g = statistics.median(times["go"][name])
        t = statistics.median(times["torch"][name])
        if name in flops:
            f = flops[name]
            print(f"| {name} | {g:.3f} | {f / g / 1e6:.0f} | {t:.3f} | {f / t / 1e6:.0f} | {g / t:.2f} |")
        else:
            gc = statistics.median(cpus["go"].get(name, [0]))
            tc = statistics.median(cpus["torch"].get(name, [0]))
            cr = f"{gc / tc:.2f}" if tc > 0 else "–"
            print(f"| {name} | {g:.1f} | {t:.1f} | {g / t:.2f} | {gc:.1f} | {tc:.1f} | {cr} |")
    if allocs:
        print("Go heap allocations per step (median): " + "; ".join(
            f"{name} {statistics.median(a for a, _ in allocs[name]):.0f} ({statistics.median(m for _, m in allocs[name]):.0f} MB)"
            for name in order if name in allocs))


if __name__ == "__main__":
    main()
