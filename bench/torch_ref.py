"""PyTorch reference timings for bench/compare.py.

`python3 torch_ref.py steps [threads [models [steps]]]` times training steps of PyTorch
versions of the models of bench/stepbench (written here after the Go
models' definitions in blocks/ and trainer/; see steps() below) and prints
one JSON object per model: {"name", "ms" (median milliseconds per step),
"cpu_ms" (the process's CPU time per step, the mean over the steps),
"build_s" (seconds to build the model and run its first step)}; models is
a comma-separated subset of toy, mnist-density, mnist-classifier (the
default) and paper-density; steps (10 by default) is the number of timed
steps after a first, untimed one.

`python3 torch_ref.py conv [threads]` times PyTorch's three convolution kernels in
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


# ----------------------------------------------------------------------------
# Training steps. The models follow the Go ones layer for layer; what they
# compute per step is what the Go trainer computes: one power iteration per
# spectrally normalized layer (conv layers on input-shaped vectors), the
# forward pass, the log-det by a power series with one Hutchinson vector and
# the gradient through the series (create_graph), the loss, its gradient and
# an Adam update. Data are random: the time does not depend on them.

import math

import torch.nn.functional as F


class SNLayer(torch.nn.Module):
    """A dense or conv layer whose weight is divided by max(1, sigma/coeff),
    sigma from one power iteration per call on a persistent vector u."""

    def __init__(self, w_shape, in_shape, conv, coeff=0.9, power_iters=1):
        super().__init__()
        self.power_iters = power_iters
        fan_in = math.prod(w_shape[1:])
        bound = 1 / math.sqrt(fan_in)
        self.w = torch.nn.Parameter(torch.empty(w_shape).uniform_(-bound, bound))
        self.b = torch.nn.Parameter(torch.empty(w_shape[0]).uniform_(-bound, bound))
        self.conv, self.coeff = conv, coeff
        self.pad = w_shape[-1] // 2 if conv else 0
        self.register_buffer("u", F.normalize(torch.randn(in_shape).flatten(), dim=0).view(in_shape))

    def op(self, x, w):
        return F.conv2d(x, w, padding=self.pad) if self.conv else x @ w.t()

    def op_t(self, y, w):
        return F.conv_transpose2d(y, w, padding=self.pad) if self.conv else y @ w

    def forward(self, x):
        with torch.no_grad():
            for _ in range(self.power_iters):
                v = self.op(self.u, self.w)
                v = v / v.norm()
                u = self.op_t(v, self.w)
                self.u = u / u.norm()
            v = self.op(self.u, self.w)
            v = v / v.norm()
        sigma = (v * self.op(self.u, self.w)).sum()
        w = self.w / torch.clamp(sigma / self.coeff, min=1.0)
        if self.conv:
            return F.conv2d(x, w, self.b, padding=self.pad)
        return x @ w.t() + self.b


class Residual(torch.nn.Module):
    """x + g(x) with g a chain of SNLayers and ELUs; log-det by a power series."""

    def __init__(self, layers, terms=5):
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)
        self.terms = terms

    def g(self, x):
        h = x
        for i, l in enumerate(self.layers):
            h = l(h)
            if i + 1 < len(self.layers):
                h = F.elu(h)
        return h

    def forward(self, x, logdet=True):
        if not logdet:
            return x + self.g(x), None
        if not x.requires_grad:
            x = x.requires_grad_()
        gx = self.g(x)
        v = torch.randn_like(x)
        w, ld = v, 0
        for k in range(1, self.terms + 1):
            w = torch.autograd.grad(gx, x, w, create_graph=True)[0]
            ld = ld + (-1) ** (k + 1) / k * (w * v).flatten(1).sum(1)
        return x + gx, ld


class ActNorm(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.b = torch.nn.Parameter(torch.zeros(1, c, 1, 1))
        self.s = torch.nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        return (x + self.b) * torch.exp(self.s), x.shape[2] * x.shape[3] * self.s.sum()


def squeeze(x):
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def conv_block(c, h, w, hidden, power_iters=1):
    return Residual([SNLayer((hidden, c, 3, 3), (1, c, h, w), True, power_iters=power_iters),
                     SNLayer((hidden, hidden, 1, 1), (1, hidden, h, w), True, power_iters=power_iters),
                     SNLayer((c, hidden, 3, 3), (1, hidden, h, w), True, power_iters=power_iters)])


class Toy(torch.nn.Module):
    """10 blocks 2-64-64-64-2, ELU, c = 0.9."""

    def __init__(self):
        super().__init__()
        widths = [2, 64, 64, 64, 2]
        self.blocks = torch.nn.ModuleList(
            Residual([SNLayer((o, i), (i,), False) for i, o in zip(widths, widths[1:])]) for _ in range(10))

    def loss(self, x):
        ld = 0
        for b in self.blocks:
            x, l = b(x)
            ld = ld + l
        logp = -0.5 * (x * x).sum(1) - math.log(2 * math.pi) + ld
        return -logp.mean()


def factored_latent(scales, x):
    """The latent and log-det of a multi-scale density model: logit
    transform (alpha = 1e-6), an initial squeeze, the scales' layers with a
    squeeze before every scale but the first and half the channels
    factored out after every scale but the last."""
    a = 1e-6
    y = a + (1 - 2 * a) * x
    ld = (math.log(1 - 2 * a) - torch.log(y) - torch.log1p(-y)).flatten(1).sum(1)
    h = squeeze(torch.log(y) - torch.log1p(-y))
    zs = []
    for s, layers in enumerate(scales):
        if s > 0:
            h = squeeze(h)
        for l in layers:
            h, l_ld = l(h)
            ld = ld + l_ld
        if s + 1 < len(scales):
            z, h = h.chunk(2, dim=1)
            zs.append(z.flatten(1))
    zs.append(h.flatten(1))
    return torch.cat(zs, 1), ld


class Density(torch.nn.Module):
    """trainer.SmallMNISTDensity: initial squeeze (4x14x14), 2 scales of 4
    (ActNorm, conv block hidden 32), half the channels factored out between
    them, standard Gaussian prior, logit transform alpha = 1e-6."""

    def __init__(self):
        super().__init__()
        self.scales = torch.nn.ModuleList()
        for c, h in ((4, 14), (8, 7)):
            layers = []
            for _ in range(4):
                layers += [ActNorm(c), conv_block(c, h, h, 32)]
            self.scales.append(torch.nn.ModuleList(layers))

    def loss(self, x):
        z, ld = factored_latent(self.scales, x)
        d = z.shape[1]
        logp = -0.5 * (z * z).sum(1) - 0.5 * d * math.log(2 * math.pi) + ld
        return (-logp / (d * math.log(2))).mean() + 8


class PaperDensity(torch.nn.Module):
    """trainer.PaperMNISTDensity: MNIST padded to 32x32, logit transform
    alpha = 1e-6, initial squeeze (4x16x16), 3 scales of 16 (ActNorm, conv
    block hidden 512, 5 power iterations per layer and step) with half the
    channels factored out between them (4x16x16, 8x8x8, 16x4x4), learned
    diagonal Gaussian prior (a mean and log-std per latent dimension); the
    step is timed at batch 2 (Adamax, as the preset)."""

    def __init__(self):
        super().__init__()
        self.scales = torch.nn.ModuleList()
        for c, h in ((4, 16), (8, 8), (16, 4)):
            layers = []
            for _ in range(16):
                layers += [ActNorm(c), conv_block(c, h, h, 512, power_iters=5)]
            self.scales.append(torch.nn.ModuleList(layers))
        self.mean = torch.nn.Parameter(torch.zeros(1024))
        self.logstd = torch.nn.Parameter(torch.zeros(1024))

    def loss(self, x):
        z, ld = factored_latent(self.scales, x)
        d = z.shape[1]
        u = (z - self.mean) * torch.exp(-self.logstd)
        logp = (-0.5 * (u * u) - self.logstd).sum(1) - 0.5 * d * math.log(2 * math.pi) + ld
        return (-logp / (d * math.log(2))).mean() + 8


class Classifier(torch.nn.Module):
    """trainer.SmallMNISTClassifier: 32x32 input, squeeze, 4 zero channels
    (8x16x16), 3 scales of 2 (ActNorm, conv block) with hidden 32, 64, 64
    and a squeeze before the 2nd and 3rd, no factor-out (128x4x4), head
    ActNorm, ReLU, global average pooling, linear to 10; cross-entropy."""

    def __init__(self):
        super().__init__()
        self.scales = torch.nn.ModuleList()
        for c, h, hid in ((8, 16, 32), (32, 8, 64), (128, 4, 64)):
            layers = []
            for _ in range(2):
                layers += [ActNorm(c), conv_block(c, h, h, hid)]
            self.scales.append(torch.nn.ModuleList(layers))
        self.head_norm = ActNorm(128)
        self.head = torch.nn.Linear(128, 10)

    def loss(self, x, labels):
        h = squeeze(x)
        h = torch.cat([h, torch.zeros_like(h)], 1)
        for s, layers in enumerate(self.scales):
            if s > 0:
                h = squeeze(h)
            for l in layers:
                h, _ = l(h, logdet=False) if isinstance(l, Residual) else l(h)
        h, _ = self.head_norm(h)
        logits = self.head(F.relu(h).mean((2, 3)))
        return F.cross_entropy(logits, labels)


STEP_CASES = {
    "toy": (Toy, lambda: (torch.randn(500, 2),), torch.optim.Adam),
    "mnist-density": (Density, lambda: (torch.rand(64, 1, 28, 28) * 0.99 + 0.005,), torch.optim.Adam),
    "mnist-classifier": (Classifier, lambda: (torch.rand(64, 1, 32, 32), torch.randint(0, 10, (64,))), torch.optim.Adam),
    "paper-density": (PaperDensity, lambda: (torch.rand(2, 1, 32, 32) * 0.99 + 0.005,), torch.optim.Adamax),
}


def steps(reps, names):
    torch.manual_seed(1)
    for name in names:
        model_cls, batch, optim = STEP_CASES[name]
        t0 = time.perf_counter()
        model = model_cls()
        opt = optim(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            model.loss(*batch()).backward()
            opt.step()

        step()
        build = time.perf_counter() - t0
        c0 = time.process_time()
        ms = median_ms(step, 1, reps)
        cpu = (time.process_time() - c0) * 1e3 / (reps + 1)  # the untimed warm-up step is in the interval too
        print(json.dumps({"name": name, "ms": ms, "cpu_ms": cpu, "build_s": build}), flush=True)


def main():
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    print(f"torch_ref: torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    what = sys.argv[1] if len(sys.argv) > 1 else "conv"
    if what == "conv":
        conv(30)
    elif what == "steps":
        names = sys.argv[3].split(",") if len(sys.argv) > 3 else ["toy", "mnist-density", "mnist-classifier"]
        steps(int(sys.argv[4]) if len(sys.argv) > 4 else 10, names)
    else:
        sys.exit(f"torch_ref: unknown benchmark {what!r}")


if __name__ == "__main__":
    main()
