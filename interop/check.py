"""Compare the PyTorch rebuild of a checkpoint with numbers Go computed.

    python3 interop/check.py CHECKPOINT NUMBERS.json [--tol 1e-5]

NUMBERS.json (written by interop/interop_test.go) holds inputs "x" (rows of
the flattened sample "shape") with Go's latents "z", exact "log_det" and
"log_prob", optionally "trainer_log_prob" (Trainer.LogProb) and "logits",
and "latents" with Go's "inverse" of them. The script rebuilds the model
with iresnet_torch.load, computes each quantity in float32, and prints a
JSON report: for each quantity the largest |python - go| ("max_abs") and
the largest |python - go| / max(1, |go|) ("max_scaled"). "round_trip" is
PyTorch's own inverse(F(x)) against x. It exits 1 when a scaled difference
exceeds the tolerance.
"""

import argparse
import json
import os
import sys

import torch

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iresnet_torch  # noqa: E402


def diff(py, go):
    go = torch.as_tensor(go, dtype=torch.float64)
    py = py.detach().double().reshape(go.shape)
    d = (py - go).abs()
    return {"max_abs": d.max().item(), "max_scaled": (d / go.abs().clamp(min=1)).max().item()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("numbers")
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    torch.set_num_threads(1)

    m = iresnet_torch.load(args.checkpoint)
    with open(args.numbers) as f:
        nums = json.load(f)
    x = torch.tensor(nums["x"], dtype=torch.float32).reshape(-1, *nums["shape"])

    rep = {}
    z, log_det = m(x)
    rep["z"] = diff(z, nums["z"])
    if "log_det" in nums:
        rep["log_det"] = diff(log_det, nums["log_det"])
        lp = m.prior.log_prob(z) + log_det
        rep["log_prob"] = diff(lp, nums["log_prob"])
        if "trainer_log_prob" in nums:
            rep["trainer_log_prob"] = diff(lp, nums["trainer_log_prob"])
    if "logits" in nums:
        rep["logits"] = diff(m.logits(x), nums["logits"])
    latents = torch.tensor(nums["latents"], dtype=torch.float32)
    rep["inverse"] = diff(m.inverse(latents), nums["inverse"])
    rep["round_trip"] = diff(m.inverse(z.detach()), x.reshape(x.shape[0], -1).tolist())

    json.dump(rep, sys.stdout, indent=1)
    print()
    bad = [k for k, v in rep.items() if not v["max_scaled"] <= args.tol]
    if bad:
        print(f"check.py: {', '.join(bad)} differ by more than {args.tol}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
