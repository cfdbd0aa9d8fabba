"""Probe activations and measured importance of a fact-lookup MLP (superpose.models.facts), stored beside its
run's results: the fact experiments' counterpart of superpose.lab.probes (which is for models of n weighted
features). An experiment opts in with `Experiment(..., probes=FactProbes())`.

The probe set is every fact's key, e_first + e_last. After training, from the weight snapshots of the one
model the run keeps as it learns (prefix "forming_" in experiments/facts.py), at every stored frame:
  - the hidden activations [m, N] and the attribute logits [M, N] on the keys, and the top-1 accuracy;
  - the measured importance of each fact's parts: how much of its logit margin (true logit minus the
    runner-up's) each name token carries (exact integrated gradients from the empty input,
    analysis.facts.token_attribution: first + last = margin - the bias-only margin), and each neuron
    (analysis.facts.margin_contributions: the neurons' parts sum to the margin).
The check: the model reads both names (a fact table where every name keys facts of several attributes cannot
be stored by one name alone): the weaker name carries at least `weak_share` of the tokens' attribution
(|part| / (|first| + |last|)) for at least `min_facts` of the facts. A model that reads one name fails it.

probes.npz layout (one kept model, S frames, N facts, m neurons, M attributes):
    probe_kind "facts"   probe_inputs [1, d, N]   probe_steps [S]   probe_hidden [1, S, m, N]
    probe_output [1, S, M, N] (logits)   probe_accuracy [1, S]   token_parts [1, S, 2, N] (first, last)
    margin [1, S, N]   baseline [1, S, N]   neuron_contribution [1, S, m, N]   fact_first / fact_last /
    fact_attr [1, N]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from superpose.analysis import facts as fa

KIND = "facts"
PARAMS = ("W_in", "b", "W_out")


def weaker_share(parts: np.ndarray) -> np.ndarray:
    """[..., N] the weaker name's share |weaker| / (|first| + |last|) of token parts [..., 2, N] (0..0.5;
    NaN where both are 0)."""
    a = np.abs(parts)
    total = a.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, a.min(axis=-2) / total, np.nan)


@dataclasses.dataclass(frozen=True)
class FactProbes:
    """prefix: the stored names' prefix of the model kept as it learns (its params and table, instance 0);
    weak_share, min_facts: the check's bars (see the module docstring)."""

    prefix: str = "forming_"
    weak_share: float = 0.1
    min_facts: float = 0.75

    def compute(self, arrays: dict) -> dict[str, np.ndarray]:
        from superpose.models.facts import instance_table

        table = instance_table(arrays, 0, prefix=self.prefix)
        if "snapshot_steps" in arrays and all(f"snapshot_{p}" in arrays for p in PARAMS):
            steps = np.asarray(arrays["snapshot_steps"], np.int64)
            frames = [{p: arrays[f"snapshot_{p}"][0, k] for p in PARAMS} for k in range(steps.size)]
        else:
            last = np.asarray(arrays.get(f"{self.prefix}log_steps", [-1])).ravel()
            steps = np.asarray([int(last[-1]) if last.size else -1], np.int64)
            frames = [{p: arrays[f"{self.prefix}{p}"][0] for p in PARAMS}]
        x, _, _ = fa.inputs(table)
        attr = table["attr"].astype(np.float64)
        hidden, logits, acc, parts, margin, base, contrib = [], [], [], [], [], [], []
        for params in frames:
            h = fa.mlp_hidden(params, x.astype(np.float64))
            hidden.append(h)
            logits.append(attr @ (np.asarray(params["W_out"], np.float64) @ h))
            acc.append(fa.accuracy(params, table))
            t = fa.token_attribution(params, table)
            parts.append(np.stack([t["first"], t["last"]]))
            margin.append(t["margin"])
            base.append(t["baseline"])
            contrib.append(fa.margin_contributions(params, table))

        def one(values, dtype=np.float32):
            return np.asarray(values, dtype)[None]

        return {
            "probe_kind": np.array(KIND),
            "probe_inputs": x.astype(np.float32)[None],
            "probe_steps": steps,
            "probe_hidden": one(hidden),
            "probe_output": one(logits),
            "probe_accuracy": one(acc),
            "token_parts": one(parts),
            "margin": one(margin),
            "baseline": one(base),
            "neuron_contribution": one(contrib),
            **{k: np.asarray(table[k], np.int32)[None] for k in ("fact_first", "fact_last", "fact_attr")},
        }

    def summarize(self, probes: dict) -> dict:
        """{"fact_importance": the final frame's shares per fact and their medians over training, "checks":
        [the both-names check]}."""
        parts, contrib = probes["token_parts"][0], probes["neuron_contribution"][0]  # [S, 2, N], [S, m, N]
        weak = weaker_share(parts)  # [S, N]
        final_parts, final_c = parts[-1], contrib[-1]
        shares = fa.margin_shares(final_c.astype(np.float64))  # [m, N]
        top = np.argsort(-shares, axis=0)[:3]  # each fact's three largest neurons
        total = np.abs(final_parts).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            token_share = np.where(total > 0, final_parts / total, np.nan)  # signed, [2, N]
        per_fact = [
            {
                "fact": i,
                "first_name": int(probes["fact_first"][0, i]),
                "last_name": int(probes["fact_last"][0, i]),
                "attribute": int(probes["fact_attr"][0, i]),
                "margin": round(float(probes["margin"][0, -1, i]), 4),
                "first_share": round(float(token_share[0, i]), 3),
                "last_share": round(float(token_share[1, i]), 3),
                "neurons": [[int(j), round(float(shares[j, i]), 3)] for j in top[:, i]],
            }
            for i in range(final_parts.shape[1])
        ]
        frac = float(np.mean(np.nan_to_num(weak[-1]) >= self.weak_share))
        largest = np.where(shares > 0, shares, 0.0).max(axis=0)  # 0 for a fact no neuron pushes
        importance = {
            "method": "token parts: exact integrated gradients of the logit margin (true minus runner-up) from "
            "the empty input to the key, split by name; neuron parts: h_j times its readout of the margin",
            "steps": probes["probe_steps"].tolist(),
            "accuracy": np.round(probes["probe_accuracy"][0].astype(float), 4).tolist(),
            "weaker_name_share_median": np.round(np.nanmedian(weak, axis=1).astype(float), 3).tolist(),
            "both_names_push_true": round(float(np.mean((final_parts > 0).all(axis=0))), 3),
            "largest_neuron_share_median": round(float(np.nanmedian(largest)), 3),
            "facts": per_fact,
        }
        check = {
            "name": "measured token importance: the model reads both names of a fact",
            "passed": frac >= self.min_facts,
            "value": f"the weaker name carries >= {self.weak_share:.0%} of the tokens' attribution for "
            f"{frac:.1%} of {weak.shape[1]} facts (median {np.nanmedian(weak[-1]):.2f})",
            "expected": f">= {self.min_facts:.0%} of facts",
        }
        return {"fact_importance": importance, "checks": [check]}

    def plot(self, probes: dict, out_dir, name: str) -> list:
        """NAME_importance.png (the final frame: each fact's first-name share against its last-name share,
        and each neuron's share of each fact's margin) and NAME_probes.png (neurons x fact keys over
        training)."""
        import matplotlib.pyplot as plt

        from superpose.lab.probes import _frames_to_show
        from superpose.plots.core import save

        parts, contrib = probes["token_parts"][0], probes["neuron_contribution"][0]
        order = np.argsort(probes["fact_attr"][0], kind="stable")  # facts grouped by attribute
        total = np.abs(parts[-1]).sum(axis=0)
        share = np.divide(parts[-1], total, out=np.zeros_like(parts[-1]), where=total > 0)
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.2, 3.2), width_ratios=[1, 2.2])
        ax.scatter(share[0], share[1], s=9, c="tab:blue")
        ax.plot([1, 0, -1, 0, 1], [0, 1, 0, -1, 0], color="0.8", lw=0.8)  # |first| + |last| = 1
        ax.set_aspect("equal")
        ax.set_xlabel("first name's share")
        ax.set_ylabel("last name's share")
        ax.set_title("name tokens' parts of each margin\n(both > 0: both push to the truth)", fontsize=8)
        shares = fa.margin_shares(contrib[-1].astype(np.float64))[:, order]
        image = bx.imshow(shares, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        bx.set_xlabel("fact (grouped by attribute)")
        bx.set_ylabel("neuron")
        bx.set_title("each neuron's share of each fact's margin", fontsize=9)
        fig.colorbar(image, ax=bx, shrink=0.85)
        fig.suptitle(f"measured importance at step {int(probes['probe_steps'][-1])}", fontsize=10)
        fig.tight_layout()
        paths = [save(fig, f"{out_dir}/{name}_importance.png", dpi=90)]

        hidden, steps = probes["probe_hidden"][0][:, :, order], probes["probe_steps"]
        shown = _frames_to_show(len(steps))
        vmax = float(np.abs(hidden).max()) or 1.0
        fig, axes = plt.subplots(1, len(shown), figsize=(1.8 * len(shown) + 1.2, 2.4), squeeze=False)
        for c, t in enumerate(shown):
            image = axes[0, c].imshow(
                hidden[t], cmap="magma", vmin=0, vmax=vmax, aspect="auto", interpolation="nearest"
            )
            axes[0, c].set_xticks([])
            axes[0, c].set_yticks([])
            acc = probes["probe_accuracy"][0, t]
            axes[0, c].set_title(f"step {int(steps[t])}\n{acc:.0%} stored", fontsize=8)
            axes[0, c].set_xlabel("fact key", fontsize=7)
        axes[0, 0].set_ylabel("neuron")
        fig.colorbar(image, ax=axes, shrink=0.8).set_label("hidden activation")
        fig.suptitle("neurons x fact keys over training", fontsize=10, y=1.08)
        paths.append(save(fig, f"{out_dir}/{name}_probes.png", dpi=90))
        return paths


def format_importance(summary: dict, most: int = 12, where: str = "summary.json") -> str:
    """Lines for `superpose show`: the fact importances of a FactProbes run."""
    imp = summary.get("fact_importance") if isinstance(summary, dict) else None
    if not imp:
        return ""
    facts = imp["facts"]
    lines = [
        "measured fact importance (shares of each fact's logit margin: by name token, and its largest neurons):",
        f"  median weaker-name share over training {imp['weaker_name_share_median'][0]} -> "
        f"{imp['weaker_name_share_median'][-1]}; both names push toward the true attribute for "
        f"{imp['both_names_push_true']:.0%} of facts; median largest neuron share "
        f"{imp['largest_neuron_share_median']}",
    ]
    for f in facts[:most]:
        neurons = ", ".join(f"h{j} {s:+.2f}" for j, s in f["neurons"])
        lines.append(
            f"  fact {f['fact']} (first {f['first_name']}, last {f['last_name']} -> attribute {f['attribute']}, "
            f"margin {f['margin']:.3g}): first {f['first_share']:+.2f}, last {f['last_share']:+.2f}; {neurons}"
        )
    if len(facts) > most:
        lines.append(f"  ... {len(facts) - most} more facts in {where}")
    return "\n".join(lines)
