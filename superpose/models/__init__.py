"""The model zoo: one file per model family, one protocol (paper section 1 and the follow-ups).

A model is a frozen dataclass for ONE instance (sweep.py batches, train.py trains) with
    init(key, n_features, n_hidden) -> params          a dict of arrays
    apply(params, x [n, batch]) -> y' [n, batch]        batches are columns, so the code reads h = W x
    target(x [n, batch]) -> what y' should match        x itself for autoencoders, |x| for AbsMLP
and optionally
    loss(params, x, hyper) -> scalar                    replaces the importance-weighted MSE (model_loss)
    inputs = "signed"                                   the task needs inputs of both signs (fit checks)
    default_sampler() -> sampler                        what Study and fit use when no sampler is given
    extras = ("name", ...)                              per-instance values it reads from hyper.extra, so a
                                                        Study may sweep them as axes
Add a model by writing such a class in a file of its own (or subclassing one); the training code never
changes. Register it in MODELS to make it available by name (fit, Study, `superpose sweep`).

    base.py          xavier_normal, model_loss, weighted_mse
    autoencoders.py  Linear, ReluOutput, ReluHidden (tied weights), UnitNormRelu (W ~ N(0, 1/m))
    mlp.py           AbsMLP (untied, computes |x|)
    packing.py       Packing (N unit vectors pushed apart by a penalty on their cosines; NoData)
    memorization.py  SparseReluOutput (ReluOutput on a stored set of sparse points, full batch; StoredSet)
    facts.py         FactMLP, LinearMemory (fact lookup over frozen token embeddings; FullTable, fact tables)
    compute.py       UniversalAND (all pairwise ANDs), ResidualMLP (compressed computation, Braun et al. 2025)
    sae.py           SparseAutoencoder (relu, topk, batchtopk, jumprelu, matryoshka) on activations with
                     known directions, its sampler Activations, the UnitDecoder optimizer, sae_study
"""

from __future__ import annotations

from superpose.config import lookup
from superpose.models.autoencoders import Linear, ReluHidden, ReluOutput, TiedModel, UnitNormRelu
from superpose.models.base import model_loss, weighted_mse, xavier_normal
from superpose.models.compute import ResidualMLP, UniversalAND
from superpose.models.facts import FactMLP, FullTable, LinearMemory
from superpose.models.memorization import SparseReluOutput, StoredSet
from superpose.models.mlp import AbsMLP
from superpose.models.packing import NoData, Packing
from superpose.models.sae import SparseAutoencoder, UnitDecoder

MODELS = {
    "linear": Linear,
    "relu_output": ReluOutput,
    "relu_hidden": ReluHidden,
    "abs_mlp": AbsMLP,
    "packing": Packing,
    "sparse_relu_output": SparseReluOutput,
    "fact_mlp": FactMLP,
    "linear_memory": LinearMemory,
    "universal_and": UniversalAND,
    "residual_mlp": ResidualMLP,
}


def get_model(spec):
    """A model from its registered name (MODELS) or a model instance (returned as it is); ConfigError for
    anything else (a class, None, an unknown name)."""
    usable = lambda x: all(callable(getattr(x, f, None)) for f in ("init", "apply"))  # noqa: E731
    return lookup(spec, MODELS, "model", usable, "init and apply")


__all__ = [
    "MODELS",
    "AbsMLP",
    "FactMLP",
    "FullTable",
    "Linear",
    "LinearMemory",
    "NoData",
    "Packing",
    "ReluHidden",
    "ReluOutput",
    "SparseReluOutput",
    "StoredSet",
    "ResidualMLP",
    "TiedModel",
    "UniversalAND",
    "UnitNormRelu",
    "get_model",
    "model_loss",
    "weighted_mse",
    "xavier_normal",
    "SparseAutoencoder",
    "UnitDecoder",
]
