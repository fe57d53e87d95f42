"""PyTorch reference timings for bench/compare.py.

`python3 torch_ref.py conv` times PyTorch's three convolution kernels in
float32 at the geometries of bench/convbench (batch 64, 14x14, stride 1,
"same" padding) and prints one JSON object per kernel: {"name", "ms" (median
milliseconds per call), "gflops"}. The input and kernel gradients are the
ones autograd computes, through aten's convolution_backward with one output
selected, so PyTorch's own backend choice (oneDNN on x86 CPUs) applies.
"""

import json
import sys
import time

import torch

GEOMS = [
    ("3x3,16-32", 16, 32, 3),
    ("1x1,32-32", 32, 32, 1),
    ("3x3,32-16", 32, 16, 3),
]
N, H, W = 64, 14, 14


def median_ms(f, warm, reps):
    for _ in range(warm):
        f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[reps // 2]


def conv(reps):
    g = torch.Generator().manual_seed(1)
    for name, c, o, k in GEOMS:
        pad = k // 2
        x = torch.randn(N, c, H, W, generator=g)
        w = torch.randn(o, c, k, k, generator=g)
        dy = torch.randn(N, o, H, W, generator=g)
        flops = 2.0 * N * o * H * W * c * k * k

        def backward(mask):
            return torch.ops.aten.convolution_backward(
                dy, x, w, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, mask)

        kernels = [
            ("forward", lambda: torch.nn.functional.conv2d(x, w, padding=pad)),
            ("input-grad", lambda: backward([True, False, False])),
            ("filter-grad", lambda: backward([False, True, False])),
        ]
        for kname, f in kernels:
            with torch.no_grad():
                ms = median_ms(f, 3, reps)
            print(json.dumps({"name": f"{kname} {name}", "ms": ms, "gflops": flops / ms / 1e6}), flush=True)


def main():
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    print(f"torch_ref: torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    what = sys.argv[1] if len(sys.argv) > 1 else "conv"
    if what == "conv":
        conv(30)
    else:
        sys.exit(f"torch_ref: unknown benchmark {what!r}")


if __name__ == "__main__":
    main()
