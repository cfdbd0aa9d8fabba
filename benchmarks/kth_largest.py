"""The TopK SAEs' threshold: superpose.models.sae.kth_largest (bisection on the floats' order) against
jax.lax.top_k (a sort), interleaved in one process, on the sizes of the `sae` experiment's TopK and
BatchTopK SAEs (512 latents x 1,024 samples, k = 5).

    python -m benchmarks.kth_largest
    python -m benchmarks.kth_largest --latents 4096 --batch 1024 --k 32 --rounds 31

Each round times every variant once (the order flips every round) and the medians are compared; the values
are checked equal first (bit for bit: the bisection is exact).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from superpose.models.sae import kth_largest


def variants(k: int, batch: int) -> dict:
    return {
        "per sample, top_k": jax.jit(lambda z: jax.lax.top_k(z.T, k)[0][:, -1]),
        "per sample, bisection": jax.jit(lambda z: kth_largest(z, k, axis=0)),
        "over the batch, top_k": jax.jit(lambda z: jax.lax.top_k(z.reshape(-1), k * batch)[0][-1]),
        "over the batch, bisection": jax.jit(lambda z: kth_largest(z, k * batch)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latents", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)

    z = jnp.asarray(np.random.default_rng(0).normal(size=(args.latents, args.batch)).astype(np.float32))
    fns = variants(args.k, args.batch)
    out = {name: np.asarray(f(z).block_until_ready()) for name, f in fns.items()}
    names = list(fns)
    for sort, bisect in (names[0:2], names[2:4]):
        if not np.array_equal(out[sort], out[bisect]):
            raise SystemExit(f"{bisect} differs from {sort}")
    times = {name: [] for name in fns}
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            fns[name](z).block_until_ready()
            times[name].append(time.perf_counter() - t)
    print(f"{jax.devices()[0].device_kind}, {args.latents} latents x {args.batch} samples, k={args.k}")
    med = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    for sort, bisect in (names[0:2], names[2:4]):
        print(f"{sort}: {med[sort]:.2f} ms, {bisect}: {med[bisect]:.2f} ms ({med[sort] / med[bisect]:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
