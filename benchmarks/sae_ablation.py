"""Why the sae experiment's 1x dictionary missed MMCS 0.95 (issue 22 §1): an ablation of the training recipe.

    python -m benchmarks.sae_ablation              # a few minutes on the 2-core CPU; prints the table
    python -m benchmarks.sae_ablation --write      # also replaces its section of benchmarks/RESULTS.md

A ReLU + L1 SAE with a dictionary of exactly the true feature count, on the published toy source scaled down
so that a variant trains in seconds: 128-D activations of 256 true directions, frequencies proportional to
decay^i with the published spread (the rarest 0.0059 times the commonest, as 0.99^511), 5 active on average,
magnitudes U[0, 1]. The old recipe's step count is scaled so that the rarest feature is seen about as often
as at the published scale (about 110 times). Each variant changes one thing from the old recipe (top) or
takes one thing away from the new one (bottom), at L1 0.1; dead latents are counted
at that L1 on 16,384 fresh samples.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import time
from pathlib import Path

import numpy as np

from superpose import Study
from superpose.analysis import sae as metrics
from superpose.config import per_feature
from superpose.models.sae import Activations, SparseAutoencoder, UnitDecoder, evaluate
from superpose.optim import Adam, AdamW

D_INPUT, N_TRUE, MEAN_ACTIVE = 128, 256, 5.0
DECAY = float((0.99**511) ** (1 / (N_TRUE - 1)))
L1S = (0.1,)  # the best of (0.03, 0.1, 0.3) for both the old and the new recipe
BASE_STEPS = 3_000  # the rarest feature (p = 5.9e-4) about 110 times at batch 64, as at the published scale


@dataclasses.dataclass(frozen=True)
class Recipe:
    batch_size: int = 64
    n_steps: int = BASE_STEPS
    lr: float = 1e-2
    schedule: str = "warmup_cosine"  # with warmup n_steps // 20
    renorm: bool = False  # decoder columns back to unit norm after every step (else only parametrised)
    tied_init: bool = True
    resample_every: int = 0


OLD = Recipe()
NEW = Recipe(batch_size=1024, lr=1e-3, schedule="constant", renorm=True)
VARIANTS = {
    "old recipe (batch 64, AdamW 1e-2 warmup-cosine, V/|V| only)": OLD,
    "old + batch 1024": dataclasses.replace(OLD, batch_size=1024),
    "old + 16x steps (same samples as batch 1024)": dataclasses.replace(OLD, n_steps=16 * BASE_STEPS),
    "old + Adam 1e-3 constant": dataclasses.replace(OLD, lr=1e-3, schedule="constant"),
    "old + renormalised decoder": dataclasses.replace(OLD, renorm=True),
    "old + untied encoder init": dataclasses.replace(OLD, tied_init=False),
    "new recipe (batch 1024, Adam 1e-3 constant, renormalised)": NEW,
    "new - batch 1024 (batch 64)": dataclasses.replace(NEW, batch_size=64),
    "new - Adam 1e-3 (1e-2 warmup-cosine)": dataclasses.replace(NEW, lr=1e-2, schedule="warmup_cosine"),
    "new - renormalised decoder": dataclasses.replace(NEW, renorm=False),
    "new - tied encoder init": dataclasses.replace(NEW, tied_init=False),
    "new + resampling dead latents (every 500 steps)": dataclasses.replace(NEW, resample_every=500),
    "new + Adam 3e-3": dataclasses.replace(NEW, lr=3e-3),
    "new + 3x steps": dataclasses.replace(NEW, n_steps=3 * BASE_STEPS),
    "old + batch 1024 + 2x steps": dataclasses.replace(OLD, batch_size=1024, n_steps=2 * BASE_STEPS),
    "old + batch 4096": dataclasses.replace(OLD, batch_size=4096),
}


def source(
    seed: int = 0, d: int = D_INPUT, n: int = N_TRUE, decay: float = DECAY
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 1])
    F = metrics.unit(rng.normal(size=(d, n))).astype(np.float32)
    w = decay ** np.arange(n)
    return F, (MEAN_ACTIVE * w / w.sum()).astype(np.float32)


def run(recipe: Recipe, F: np.ndarray, probs: np.ndarray, l1s=L1S) -> dict:
    """Train the variant over the L1 grid (one compiled sweep) and score it."""
    optimizer = UnitDecoder(base=Adam(), resample_every=recipe.resample_every) if recipe.renorm else AdamW()

    def hyper(coords, cfg):
        n = coords["l1"].size
        return {
            "feature_prob": per_feature(probs),
            "lr": recipe.lr,
            "weight_decay": 0.0,
            "extra": {"l1": coords["l1"], "directions": np.broadcast_to(F, (n, *F.shape))},
        }

    study = Study(
        SparseAutoencoder(F.shape[0], tied_init=recipe.tied_init),
        axes={"l1": np.asarray(l1s)},
        sampler=Activations(),
        config={
            "n_features": F.shape[1],
            "n_hidden": F.shape[1],
            "batch_size": recipe.batch_size,
            "n_steps": recipe.n_steps,
            "schedule": recipe.schedule,
            "warmup_steps": recipe.n_steps // 20,
        },
        hyper=hyper,
        optimizer=optimizer,
        fits=None,
    )
    t0 = time.perf_counter()
    result = study.run()
    seconds = time.perf_counter() - t0
    D = np.asarray(result.params["V"])  # [l1s, d, k]; V is renormalised in the model anyway
    scores = [metrics.mmcs(F, D[i]) for i in range(len(l1s))]
    best = int(np.argmax(scores))
    stats = evaluate(
        study.model, F, probs, {k: v[best] for k, v in result.params.items()}, n_samples=16_384, batch=1024
    )
    return {
        "mmcs": scores[best],
        "l1": l1s[best],
        "dead": float(np.mean(stats["fired"] == 0)),
        "samples": recipe.batch_size * recipe.n_steps,
        "seconds": seconds,
    }


def table(rows: dict) -> str:
    lines = [
        "| variant | samples seen | best L1 | MMCS at 1x | dead latents | train s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['samples']:,} | {r['l1']:g} | {r['mmcs']:.3f} | {r['dead']:.1%} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


SECTION = "## SAE training recipe ablation (issue 22 §1, `python -m benchmarks.sae_ablation`)"


def write_results(text: str, path: Path) -> None:
    """Replace the section that starts with "## SAE training recipe ablation" (its whole text, up to the next
    section) with the new table, or append one."""
    old = path.read_text()
    block = f"{SECTION}\n\n{text}\n"
    pattern = re.compile(re.escape("## SAE training recipe ablation") + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(old):
        path.write_text(pattern.sub(lambda _: block.rstrip("\n"), old))
    else:
        path.write_text(old.rstrip() + "\n\n" + block)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the section in benchmarks/RESULTS.md")
    parser.add_argument("--only", nargs="*", help="variant numbers (0-based) to run")
    parser.add_argument(
        "--published",
        action="store_true",
        help="instead: the experiment's default recipe at the published scale (256-D, 512 features, 512 "
        "latents, --steps of 1,024, L1 0.1; 6,000 steps took 21 minutes on the loaded 2-core CPU)",
    )
    parser.add_argument("--steps", type=int, default=12_000, help="steps for --published (default 12,000)")
    parser.add_argument(
        "--l1", type=float, default=0.1, help="the L1 coefficient for --published (default 0.1)"
    )
    args = parser.parse_args(argv)
    if args.published:
        F, probs = source(d=256, n=512, decay=0.99)
        recipe = Recipe(batch_size=1024, n_steps=args.steps)
        print("published scale, default recipe:", run(recipe, F, probs, l1s=(args.l1,)), flush=True)
        return
    F, probs = source()
    rows = {}
    for i, (name, recipe) in enumerate(VARIANTS.items()):
        if args.only and str(i) not in args.only:
            continue
        rows[name] = run(recipe, F, probs)
        print(name, rows[name], flush=True)
    text = table(rows)
    print(text)
    if args.write:
        write_results(text, Path(__file__).with_name("RESULTS.md"))


if __name__ == "__main__":
    main()
