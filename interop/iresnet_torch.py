"""Rebuild an i-ResNet trained by iresnet-go as a PyTorch module.

A checkpoint of format ``iresnet-go/v2`` (a safetensors file written by
``trainer.Trainer.Save``) holds the configuration as snake_case JSON in its
metadata and every tensor under a name that follows the model's structure.
``load`` reads it (no safetensors package needed) and builds the model with
the weights every reported number uses:

* ``applied/<name>`` for spectrally normalized weights: certified, operator
  norm at most c, applied as they are (no further normalization);
* ``ema/<name>`` for every other parameter when the run kept a weight
  average (``optim.ema_decay > 0``), else ``model/<name>``.

Usage::

    import iresnet_torch
    m = iresnet_torch.load("runs/8gaussians")   # a run folder or a .safetensors file
    z, log_det = m(x)          # latent and exact per-row log|det dz/dx|
    log_p = m.log_prob(x)      # log N(z; prior) + log_det
    x_back = m.inverse(z)      # fixed-point iteration, block by block

``x`` has the shape the model takes, with a leading batch axis: (N, 2) for
a toy density, (N, C, H, W) for images, in the model's input space (after
the data source's preprocessing, e.g. the logit transform). The log-det
comes from the full Jacobian of each row, which is exact and simple but
meant for small inputs (D up to a few hundred). The model runs in the
checkpoint's float32; ``m.double()`` gives float64.
"""

import hashlib
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

FORMAT = "iresnet-go/v2"
CHECKPOINT_FILE = "checkpoint.safetensors"  # the checkpoint of a run folder

_DTYPES = {"F32": torch.float32, "F64": torch.float64}
_GO_DTYPES = {"F32": "float32", "F64": "float64"}  # names the checksum hashes


# ----------------------------------------------------------------------------
# Reading checkpoints


def read_safetensors(path, verify=True):
    """Return (tensors, metadata) of a safetensors file.

    The format is an 8-byte little-endian header length, a JSON header
    mapping each tensor name to its dtype, shape and byte range, and the raw
    little-endian data. Metadata values are returned as stored (iresnet-go
    stores JSON). With verify, the checksum iresnet-go seals its files with
    (metadata "checksum") is checked when present.
    """
    if sys.byteorder != "little":
        raise RuntimeError("iresnet_torch: reading safetensors needs a little-endian machine")
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header of {n} bytes in a file of {len(raw)}")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = raw[8 + n :]
    tensors, spans = {}, {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {dtype}, want F32 or F64")
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor {name!r} lies outside the file")
        buf = bytearray(data[begin:end])
        t = torch.frombuffer(buf, dtype=_DTYPES[dtype]) if buf else torch.empty(0, dtype=_DTYPES[dtype])
        tensors[name] = t.reshape(info["shape"])
        spans[name] = (dtype, info["shape"], data[begin:end])
    if verify and "checksum" in metadata:
        got = _checksum(spans, metadata)
        if got != metadata["checksum"]:
            raise ValueError(f"{path}: checksum mismatch: the file was changed after it was written")
    return tensors, metadata


def _checksum(spans, metadata):
    """iresnet-go's content digest (trainer/checkpoint.Seal): SHA-256 over
    the tensors sorted by name (name, dtype, shape, values) and the other
    metadata entries sorted by key, every field length-prefixed."""
    h = hashlib.sha256()
    u64 = lambda v: h.update(struct.pack("<Q", v))

    def string(s):
        b = s.encode("utf-8")
        u64(len(b))
        h.update(b)

    u64(len(spans))
    for name in sorted(spans):
        dtype, shape, values = spans[name]
        string(name)
        string(_GO_DTYPES[dtype])
        u64(len(shape))
        for d in shape:
            u64(d)
        h.update(values)
    keys = sorted(k for k in metadata if k != "checksum")
    u64(len(keys))
    for k in keys:
        string(k)
        string(metadata[k])
    return "sha256:" + h.hexdigest()


class Checkpoint:
    """A v2 checkpoint: its configuration and evaluation weights."""

    def __init__(self, path):
        if os.path.isdir(path):
            path = os.path.join(path, CHECKPOINT_FILE)
        self.path = path
        self.tensors, meta = read_safetensors(path)
        fmt = json.loads(meta.get("format", '""'))
        if fmt != FORMAT:
            raise ValueError(f"{path} has format {fmt!r}; this module reads {FORMAT!r}")
        self.config = json.loads(meta["config"])
        self.step = json.loads(meta["step"])
        self.ema = self.config.get("optim", {}).get("ema_decay", 0) > 0

    def weight(self, name):
        """The evaluation value of parameter name (e.g. "block0/fc0/weight")."""
        for prefix in ("applied/", "ema/" if self.ema else "model/"):
            if prefix + name in self.tensors:
                return self.tensors[prefix + name].clone()
        raise KeyError(f"{self.path}: no tensor for parameter {name!r}")

    def has(self, name):
        return "model/" + name in self.tensors


# ----------------------------------------------------------------------------
# Layers


def _lipswish(x):
    return x * torch.sigmoid(x) / 1.1


ACTIVATIONS = {
    "relu": F.relu,
    "elu": F.elu,
    "lipswish": _lipswish,
    "softplus": F.softplus,
    "identity": lambda x: x,
}


class Act(nn.Module):
    """A 1-Lipschitz activation by its iresnet-go name."""

    def __init__(self, name):
        super().__init__()
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
        self.name = name

    def forward(self, x):
        return ACTIVATIONS[self.name](x)

    def extra_repr(self):
        return self.name


class ActNorm(nn.Module):
    """y = (x + b) * exp(s) per channel, on (N, C) or (N, C, H, W)."""

    def __init__(self, bias, logscale):
        super().__init__()
        self.bias = nn.Parameter(bias)
        self.logscale = nn.Parameter(logscale)

    def _view(self, p, x):
        return p.view(1, -1, *([1] * (x.dim() - 2)))

    def forward(self, x):
        return (x + self._view(self.bias, x)) * self._view(self.logscale, x).exp()

    def inverse(self, y):
        return y * self._view(-self.logscale, y).exp() - self._view(self.bias, y)


class Squeeze(nn.Module):
    """2x2 space-to-depth: channel 4c + 2i + j at (y, x) is x[c, 2y+i, 2x+j]."""

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
        return x.reshape(n, 4 * c, h // 2, w // 2)

    def inverse(self, y):
        n, c4, h, w = y.shape
        y = y.reshape(n, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
        return y.reshape(n, c4 // 4, 2 * h, 2 * w)


class PadChannels(nn.Module):
    """Injective padding: appends n zero channels; inverse drops them."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return torch.cat([x, x.new_zeros(x.shape[0], self.n, *x.shape[2:])], dim=1)

    def inverse(self, y):
        return y[:, : y.shape[1] - self.n]


class Residual(nn.Module):
    """F(x) = x + g(x) with g = layer_k o act o ... o act o layer_1 (o act
    first when input_act), inverted by fixed-point iteration."""

    def __init__(self, layers, act, input_act):
        super().__init__()
        mods = [Act(act)] if input_act else []
        for i, layer in enumerate(layers):
            if i > 0:
                mods.append(Act(act))
            mods.append(layer)
        self.g = nn.Sequential(*mods)

    def forward(self, x):
        return x + self.g(x)

    @torch.no_grad()
    def inverse(self, y, tol=None, max_iter=1000):
        """x with x + g(x) = y: iterate x <- y - g(x) from x = y until
        max |step| <= tol * (1 + max |x|) (tol: 1e-6 for float32, 1e-12
        for float64)."""
        if tol is None:
            tol = 1e-6 if y.dtype == torch.float32 else 1e-12
        x = y
        for _ in range(max_iter):
            nxt = y - self.g(x)
            step = (nxt - x).abs().max().item()
            x = nxt
            if step <= tol * (1 + x.abs().max().item()):
                return x
        raise RuntimeError(f"fixed-point inverse did not converge in {max_iter} iterations (last step {step:.3g})")


def _dense_residual(ck, prefix, act, input_act):
    layers, i = [], 0
    while ck.has(f"{prefix}fc{i}/weight"):
        w = ck.weight(f"{prefix}fc{i}/weight")  # (in, out): y = x @ W + b
        lin = nn.Linear(w.shape[0], w.shape[1], dtype=w.dtype)
        lin.weight = nn.Parameter(w.t().contiguous())
        lin.bias = nn.Parameter(ck.weight(f"{prefix}fc{i}/bias"))
        layers.append(lin)
        i += 1
    if not layers:
        raise KeyError(f"{ck.path}: no layers under {prefix!r}")
    return Residual(layers, act, input_act)


def _conv_residual(ck, prefix, act, input_act):
    layers = []
    for i in range(3):  # 3x3, 1x1, 3x3 bottleneck, "same" padding
        w = ck.weight(f"{prefix}conv{i}/weight")  # (O, C, KH, KW)
        conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=w.shape[2] // 2, dtype=w.dtype)
        conv.weight = nn.Parameter(w)
        conv.bias = nn.Parameter(ck.weight(f"{prefix}conv{i}/bias"))
        layers.append(conv)
    return Residual(layers, act, input_act)


def _actnorm(ck, prefix):
    return ActNorm(ck.weight(prefix + "bias"), ck.weight(prefix + "logscale"))


class Chain(nn.ModuleDict):
    """Bijectors applied in order, keyed by their checkpoint names."""

    def forward(self, x):
        for m in self.values():
            x = m(x)
        return x

    def inverse(self, y):
        for m in reversed(list(self.values())):
            y = m.inverse(y)
        return y


class MultiScale(nn.Module):
    """Scales of (squeeze, ActNorm + conv residual blocks); after each scale
    but the last, half the channels are factored out. The latent is the
    factored halves, flattened, then the last scale's output, flattened."""

    def __init__(self, scales, factor, shapes):
        super().__init__()
        self.scales = nn.ModuleList(scales)
        self.factor = factor  # whether half the channels leave after scale i
        self.shapes = shapes  # (C, H, W) at the output of scale i

    def forward(self, x):
        outs = []
        for sc, split in zip(self.scales, self.factor):
            x = sc(x)
            if split:
                z, x = x.chunk(2, dim=1)
                outs.append(z.flatten(1))
        return torch.cat(outs + [x.flatten(1)], dim=1)

    def inverse(self, z):
        n = z.shape[0]
        sizes = [c // 2 * h * w for (c, h, w), s in zip(self.shapes, self.factor) if s]
        c, h, w = self.shapes[-1]
        parts = list(torch.split(z, sizes + [c * h * w], dim=1))
        x = parts.pop().reshape(n, c, h, w)
        for sc, split, (c, h, w) in reversed(list(zip(self.scales, self.factor, self.shapes))):
            if split:
                x = torch.cat([parts.pop().reshape(n, c // 2, h, w), x], dim=1)
            x = sc.inverse(x)
        return x


def _dense_flow(ck, cfg):
    chain = Chain()
    for k in range(cfg.get("blocks") or 10):
        if cfg.get("act_norm"):
            chain[f"actnorm{k}"] = _actnorm(ck, f"actnorm{k}/")
        chain[f"block{k}"] = _dense_residual(ck, f"block{k}/", cfg.get("act", "relu"), cfg.get("input_act", False))
    return chain


def _multi_scale(ck, cfg):
    c, h, w = cfg["channels"], cfg["height"], cfg["width"]
    n_scales, n_blocks = cfg.get("scales") or 3, cfg.get("blocks") or 4
    act, pad = cfg.get("act", "relu"), cfg.get("pad_channels", 0)
    scales, factor, shapes = [], [], []
    for s in range(n_scales):
        chain = Chain()
        if s > 0 or cfg.get("init_squeeze"):
            chain["squeeze0"] = Squeeze()
            c, h, w = 4 * c, h // 2, w // 2
        if s == 0 and pad > 0:
            chain["pad0"] = PadChannels(pad)
            c += pad
        for k in range(n_blocks):
            p = f"scale{s}/"
            if cfg.get("act_norm"):
                chain[f"actnorm{k}"] = _actnorm(ck, f"{p}actnorm{k}/")
            # Every block starts with the activation except the very first.
            chain[f"block{k}"] = _conv_residual(ck, f"{p}block{k}/", act, k > 0 or s > 0)
        split = s + 1 < n_scales and not cfg.get("no_split")
        scales.append(chain)
        factor.append(split)
        shapes.append((c, h, w))
        if split:
            c //= 2
    return MultiScale(scales, factor, shapes)


class GaussianPrior(nn.Module):
    """N(mean, diag(exp(logstd)^2)) over the latent; N(0, I) without tensors."""

    def __init__(self, dim, mean=None, logstd=None):
        super().__init__()
        self.dim = dim
        self.mean = nn.Parameter(mean if mean is not None else torch.zeros(dim))
        self.logstd = nn.Parameter(logstd if logstd is not None else torch.zeros(dim))

    def log_prob(self, z):
        u = (z - self.mean) * (-self.logstd).exp()
        return -0.5 * (u * u).sum(1) - self.logstd.sum() - 0.5 * self.dim * math.log(2 * math.pi)

    def sample(self, n, temperature=1.0):
        eps = torch.randn(n, self.dim, dtype=self.mean.dtype)
        return self.mean + temperature * self.logstd.exp() * eps


class ClassifierHead(nn.Module):
    """logits = mean_hw relu((feat + b) * exp(s)) @ W + bias."""

    def __init__(self, ck):
        super().__init__()
        self.norm = _actnorm(ck, "head/norm/")
        w = ck.weight("head/fc/weight")  # (C, K)
        self.fc = nn.Linear(w.shape[0], w.shape[1], dtype=w.dtype)
        self.fc.weight = nn.Parameter(w.t().contiguous())
        self.fc.bias = nn.Parameter(ck.weight("head/fc/bias"))

    def forward(self, feat):
        return self.fc(F.relu(self.norm(feat)).mean(dim=(2, 3)))


# ----------------------------------------------------------------------------
# The model


class IResNet(nn.Module):
    """A flow (toy dense flow or multi-scale image model) with its prior and,
    for classifiers and hybrids, its head."""

    def __init__(self, ck):
        super().__init__()
        self.config = ck.config
        self.step = ck.step
        mc = ck.config["model"]
        if mc.get("dense_flow") is not None:
            cfg = mc["dense_flow"]
            self.input_shape = (cfg.get("dim") or 2,)
            self.flow = _dense_flow(ck, cfg)
            self.padded = False
        elif mc.get("multi_scale") is not None:
            cfg = mc["multi_scale"]
            self.input_shape = (cfg["channels"], cfg["height"], cfg["width"])
            self.flow = _multi_scale(ck, cfg)
            # Injective padding: no bijection, hence no density.
            self.padded = cfg.get("pad_channels", 0) > 0
        else:
            raise ValueError(f"{ck.path}: the configuration names no model (dense_flow or multi_scale)")
        dim = math.prod(self.input_shape) if not self.padded else self._latent_dim()
        if ck.has("prior/mean"):
            self.prior = GaussianPrior(dim, ck.weight("prior/mean"), ck.weight("prior/logstd"))
        else:
            self.prior = GaussianPrior(dim)
            self.prior.requires_grad_(False)
        self.head = ClassifierHead(ck) if ck.has("head/fc/weight") else None

    def _latent_dim(self):
        c, h, w = self.flow.shapes[0]
        return c * h * w

    def latent(self, x):
        """z = F(x), (N, D)."""
        return self.flow(x)

    def forward(self, x):
        """(z, log|det dz/dx|) per row, the log-det from the full Jacobian;
        log_det is None for a model with channel padding (not a bijection)."""
        z = self.latent(x)
        return z, (None if self.padded else self.log_det(x))

    def log_det(self, x):
        """Exact log|det dF/dx| (N), from each row's D x D Jacobian (the rows
        are independent, so one Jacobian of the batch sum gives them all),
        its log-determinant taken in float64."""
        if self.padded:
            raise ValueError("a model with channel padding is not a bijection: it has no log-det")
        n = x.shape[0]
        jac = torch.autograd.functional.jacobian(lambda v: self.latent(v).sum(0), x)  # (D, N, *in)
        jac = jac.reshape(jac.shape[0], n, -1).transpose(0, 1)  # (N, D, D)
        return torch.linalg.slogdet(jac.double())[1].to(x.dtype)

    def log_prob(self, x):
        """log p(x) = log prior(F(x)) + log|det dF/dx|, (N), in nats."""
        z, log_det = self(x)
        if log_det is None:
            raise ValueError("a model with channel padding is not a density model")
        return self.prior.log_prob(z) + log_det

    def inverse(self, z):
        """x = F^-1(z): residual blocks by fixed-point iteration."""
        return self.flow.inverse(z)

    @torch.no_grad()
    def sample(self, n, temperature=1.0):
        """n samples: z from the prior at the temperature, mapped back."""
        return self.inverse(self.prior.sample(n, temperature).to(self.prior.mean.dtype))

    def logits(self, x):
        """The classifier head's logits (N, K) on the last scale's features."""
        if self.head is None:
            raise ValueError("the model has no classifier head")
        z = self.latent(x)
        c, h, w = self.flow.shapes[-1]
        return self.head(z[:, z.shape[1] - c * h * w :].reshape(-1, c, h, w))


def load(path):
    """Build the model of a run folder or checkpoint file, with its
    evaluation weights, in evaluation mode."""
    return IResNet(Checkpoint(path)).eval()
