"""Flax NNX adapter: write a model variant as an `nnx.Module`, train it with the same compiled Sweep.

Owns: `NNXModel`, which turns a module factory into the library's pure model interface
(init / apply / target) with `nnx.split` / `nnx.merge` around pure functions. The training loop stays
functional: params are a flat dict of arrays (a pure pytree), so vmap, sharding, optax and checkpoints
see exactly what they see for the built-in models, and no `nnx.jit` overhead reaches the inner loop.
Does not: train (train.py / sweep.py), or carry non-parameter state (batch statistics, RNG streams).

    class MyModel(nnx.Module):
        def __init__(self, rngs, n_features, n_hidden):
            self.W = nnx.Param(models.xavier_normal(rngs.params(), (n_hidden, n_features)))
            self.b = nnx.Param(jnp.zeros(n_features))
        def __call__(self, x):                               # x [n_features, batch]
            return jax.nn.relu(self.W.T @ (self.W @ x) + self.b[:, None])

    def my_model(rngs, n_features, n_hidden):                # module level: hashable, so sweeps cache
        return MyModel(rngs, n_features, n_hidden)

    result = sweep.run_grid(NNXModel(my_model), data.Independent(), cfg, hyper, seeds)
    result.params["W"]                                       # [N, n_hidden, n_features]

Parameter names are the attribute paths joined by "/" ("W", "hidden/kernel"); name the tied weight `W`
[n_hidden, n_features] and the metrics and plots apply to it unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
from flax import nnx

Factory = Callable[[nnx.Rngs, int, int], nnx.Module]


def _name(path) -> str:
    """A pytree key path as 'a/b/0'."""
    return "/".join(str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path)


def _pure_dict(state) -> dict:
    """An nnx.State as a nested dict: nnx.to_pure_dict where flax has it (State.to_pure_dict is deprecated
    there), the method on older flax."""
    to_pure_dict = getattr(nnx, "to_pure_dict", None)
    return state.to_pure_dict() if to_pure_dict is None else to_pure_dict(state)


def _flatten(tree) -> dict[str, jax.Array]:
    return {_name(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


@functools.lru_cache(maxsize=128)
def _structure(factory: Factory, n_features: int, n_hidden: int):
    """(graphdef, abstract nested params, {name: shape}) of factory's module, built without any FLOPs."""
    abstract = nnx.eval_shape(lambda: factory(nnx.Rngs(0), n_features, n_hidden))
    graphdef, params, _ = nnx.split(abstract, nnx.Param, ...)
    nested = _pure_dict(params)
    return graphdef, nested, {name: tuple(leaf.shape) for name, leaf in _flatten(nested).items()}


@functools.lru_cache(maxsize=128)
def _match(factory: Factory, n_features: int, shapes: tuple[tuple[str, tuple[int, ...]], ...]):
    """The module structure whose parameter shapes are `shapes`, for the hidden size that produces them.

    apply only sees x [n_features, batch] and the params, and a module's graphdef may store n_hidden
    (nnx.Linear keeps its feature counts), so the hidden size is recovered from the parameter shapes:
    every size appearing in them is tried, smallest first.
    """
    wanted = dict(shapes)
    candidates = sorted({d for shape in wanted.values() for d in shape} | {1})
    for n_hidden in candidates:
        graphdef, nested, found = _structure(factory, n_features, n_hidden)
        if found == wanted:
            return graphdef, nested
    raise ValueError(
        f"no hidden size makes {getattr(factory, '__name__', factory)}(rngs, {n_features}, n_hidden) "
        f"produce parameters of shapes {wanted}"
    )


@dataclasses.dataclass(frozen=True)
class NNXModel:
    """A toy model given as an NNX module factory; behaves like the models in superpose.models.

    factory(rngs, n_features, n_hidden) -> nnx.Module whose __call__ maps x [n_features, batch] to
    x_hat [n_features, batch]. It must be hashable and stable (a module-level function, not a lambda made
    in a loop): it is part of the compiled sweep's static key. Every nnx.Variable of the module must be an
    nnx.Param, and the module must not keep its `rngs`.
    target_fn: x [n, batch] -> what x_hat should match; None means x itself (an autoencoder).
    """

    factory: Factory
    target_fn: Callable[[jax.Array], jax.Array] | None = None

    def init(self, key: jax.Array, n_features: int, n_hidden: int) -> dict[str, jax.Array]:
        """Build the module with nnx.Rngs(params=key); return its parameters as {name: array}."""
        module = self.factory(nnx.Rngs(params=key), n_features, n_hidden)
        _, params, rest = nnx.split(module, nnx.Param, ...)
        if jax.tree.leaves(rest):
            raise ValueError(
                "NNXModel trains nnx.Param state only; the module also holds "
                f"{sorted(_flatten(_pure_dict(rest)))} (drop stored rngs, use nnx.Param)"
            )
        return _flatten(_pure_dict(params))

    def apply(self, params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        """x [n_features, batch] -> x_hat [n_features, batch], through the module rebuilt from params."""
        shapes = tuple(sorted((name, tuple(p.shape)) for name, p in params.items()))
        graphdef, nested = _match(self.factory, x.shape[0], shapes)
        nested = jax.tree_util.tree_map_with_path(lambda path, _: params[_name(path)], nested)
        return nnx.merge(graphdef, nested)(x)

    def target(self, x: jax.Array) -> jax.Array:
        return x if self.target_fn is None else self.target_fn(x)
