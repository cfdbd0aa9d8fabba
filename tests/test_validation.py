"""Bad input gets one line `error: ...` on stderr and exit code 2, never a traceback.

Covers the --set parser (property-based), the checks each Config field declares (superpose.lab.fields; a
field's name implies nothing), every bad value the issue lists (densities, n and m, importance, learning
rate, steps, unknown keys, wrong types), the declared checks of every experiment's Config, values the
library itself rejects while building sweeps, and NaN/inf appearing during training.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import superpose
from superpose.config import ConfigError, make_hyper
from superpose.lab import Experiment, cli, main, registry, store
from superpose.lab.fields import Check, count, declared_check, nonnegative, positive, probability, seed, steps
from superpose.lab.overrides import apply_overrides, config_from_dict, parse_value, validate_config
from superpose.sweep import Sweep


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    n_features: int = count(5)
    n_hidden: int = count(2)
    densities: tuple[float, ...] = probability((1.0, 0.1))
    importance: tuple[float, ...] = nonnegative((1.0, 0.9))
    p_active: float = 0.5  # no declared check (only: a finite number): the library must catch a bad value
    lr: float = positive(1e-3)
    weight_decay: float = nonnegative(0.0)
    n_steps: int = steps(100)
    warmup_steps: int = steps(0, minimum=0)
    seed: int = seed(0)
    model: Literal["relu", "linear"] = "relu"
    tag: str = ""
    flag: bool = False
    limit: int | None = None


def toy_train(cfg, ctx):
    make_hyper(1, cfg.n_features, feature_prob=cfg.p_active)  # raises ValueError for p outside (0, 1]
    raise AssertionError("validation tests never get as far as training")


TOY = Experiment("toy", ToyConfig, toy_train, lambda cfg, a: {}, lambda cfg, a, d: [])

# Small enough to train in-process in well under a second once compiled; every in-process intro run here
# uses these shapes, so they share one compilation.
INTRO_TINY = ["--quick", "--quiet", "--set", "n_steps=2000", "--set", "n_densities=2", "--set", "n_seeds=2",
              "--set", "batch_size=64"]  # fmt: skip


def fails(capsys, code: int, *fragments: str) -> str:
    """Assert exit code 2 and a single `error: ...` line on stderr containing every fragment."""
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- the parser: property-based ------------------------------------------------------------------------


@given(st.text(max_size=40))
def test_any_override_string_parses_or_raises_config_error(text):
    try:
        cfg = apply_overrides(ToyConfig(), [text])
    except ConfigError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(cfg, ToyConfig)


FIELDS = [f.name for f in dataclasses.fields(ToyConfig)]


@given(st.sampled_from(FIELDS), st.text(max_size=30))
def test_any_value_for_a_known_key_parses_to_the_right_type_or_raises_config_error(key, text):
    try:
        cfg = apply_overrides(ToyConfig(), [f"{key}={text}"])
    except ConfigError as e:
        assert "\n" not in str(e) and key in str(e)
        return
    value, default = getattr(cfg, key), getattr(ToyConfig(), key)
    if default is None:
        assert value is None or isinstance(value, int)
    elif isinstance(default, float):
        assert isinstance(value, float) and math.isfinite(value)
    else:
        assert type(value) is type(default)


@given(st.integers(-(10**6), 10**6))
def test_counts_must_be_positive(n):
    for key in ("n_features", "n_hidden", "n_steps"):
        if n > 0:
            assert getattr(apply_overrides(ToyConfig(), [f"{key}={n}"]), key) == n
        else:
            with pytest.raises(ConfigError, match=f"{key} must be a positive integer"):
                apply_overrides(ToyConfig(), [f"{key}={n}"])


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_learning_rate_must_be_positive_and_finite(x):
    if math.isfinite(x) and x > 0:
        assert apply_overrides(ToyConfig(), [f"lr={x!r}"]).lr == x
    else:
        with pytest.raises(ConfigError, match="lr"):
            apply_overrides(ToyConfig(), [f"lr={x!r}"])


@given(st.lists(st.one_of(st.floats(-1.0, 2.0), st.just(math.nan)), min_size=1, max_size=4))
def test_densities_must_lie_in_zero_one(values):
    text = ",".join(repr(v) for v in values)
    if all(0 < v <= 1 for v in values):
        assert apply_overrides(ToyConfig(), [f"densities={text}"]).densities == tuple(values)
    else:
        with pytest.raises(ConfigError, match="densities"):
            apply_overrides(ToyConfig(), [f"densities={text}"])


def test_parse_value_forms():
    assert parse_value(" 10_000 ", int) == 10_000
    assert parse_value("1e4", int) == 10_000
    assert parse_value("(0.5, 1)", tuple[float, ...]) == (0.5, 1.0)
    assert parse_value("[0.5,]", tuple[float, ...]) == (0.5,)
    assert parse_value("", tuple[float, ...]) == ()
    assert parse_value("none", int | None) is None
    assert parse_value("off", bool) is False
    assert parse_value("linear", Literal["relu", "linear"]) == "linear"
    for text, typ in [("2.5", int), ("abc", float), ("maybe", bool), ("sigmoid", Literal["relu"])]:
        with pytest.raises(ValueError):
            parse_value(text, typ)
    assert (
        parse_value("2.0", int) == 2 and parse_value("YES", bool) is True and parse_value("0", bool) is False
    )
    assert parse_value("null", tuple[float, ...] | None) is None
    assert parse_value("(1, 0.5)", tuple[int, float]) == (1, 0.5)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=5), st.booleans())
def test_text_and_json_walk_to_the_same_value(values, brackets):
    text = ",".join(repr(v) for v in values)
    parsed = parse_value(f"({text})" if brackets else text, tuple[float, ...])
    assert parsed == tuple(values) == config_from_dict(Undeclared, {"ratios": values}).ratios
    assert apply_overrides(Undeclared(), [f"ratios={text}"]).ratios == parsed


# --- declared checks: a rule is what a field declares, never what its name suggests ----------------------


@dataclasses.dataclass(frozen=True)
class Undeclared:
    densityish: float = 0.5  # names that once implied rules: with no declared check they get none
    n_layers: int = 3
    my_seed: int = 0
    lr: float = 1e-3
    x: float = probability(0.5)
    ratios: tuple[float, ...] = ()


@dataclasses.dataclass(frozen=True)
class CrossField:
    low: float = nonnegative(0.0)
    high: float = nonnegative(1.0)

    def __post_init__(self):
        if self.low > self.high:
            raise ValueError(f"low {self.low} must not exceed high {self.high}")
        if self.high == 42:
            raise ConfigError("high must not be 42")


def test_a_field_name_implies_no_rule():
    cfg = apply_overrides(
        Undeclared(), ["densityish=5.0", "n_layers=-2", "my_seed=-1", "lr=-1", "ratios=-3,7"]
    )
    assert (cfg.densityish, cfg.n_layers, cfg.my_seed, cfg.lr, cfg.ratios) == (5.0, -2, -1, -1.0, (-3.0, 7.0))
    for override, message in [
        ("densityish=nan", "densityish must be finite"),  # every float field: finite
        ("ratios=1,inf", "ratios must be finite"),
        ("x=1.5", "x must be in (0, 1], got 1.5"),  # the declared check, on a name that says nothing
        ("x=0", "x must be in (0, 1]"),
    ]:
        with pytest.raises(ConfigError) as e:
            apply_overrides(Undeclared(), [override])
        assert message in str(e.value)
    assert apply_overrides(Undeclared(), ["x=1"]).x == 1.0


def test_validate_config_checks_types_and_checks_of_configs_built_in_python():
    validate_config(ToyConfig())
    for bad, message in [
        (ToyConfig(n_features=2.5), "n_features must be an integer"),
        (ToyConfig(n_features=True), "n_features must be an integer"),  # a bool is not a count
        (ToyConfig(n_hidden=np.int64(0)), "n_hidden must be a positive integer"),
        (ToyConfig(densities=(0.5, np.float32(1.5))), "densities must be in (0, 1]"),
        (ToyConfig(lr="fast"), "lr must be a number"),
        (ToyConfig(model="sigmoid"), "model must be one of relu, linear"),
        (Undeclared(x=None), "x must be a number"),
    ]:
        with pytest.raises(ConfigError) as e:
            validate_config(bad)
        assert message in str(e.value) and "\n" not in str(e.value)
    validate_config(ToyConfig(n_hidden=np.int64(3), lr=np.float32(0.5), limit=None))


def test_cross_field_rules_live_in_post_init():
    assert apply_overrides(CrossField(), ["low=0.5"]).low == 0.5
    with pytest.raises(ConfigError, match="invalid config: low 2.0 must not exceed high 1.0"):
        apply_overrides(CrossField(), ["low=2"])
    with pytest.raises(ConfigError, match="invalid config: high must not be 42"):
        apply_overrides(CrossField(), ["high=42"])
    with pytest.raises(ConfigError, match="low must be non-negative"):  # a field's own check comes first
        apply_overrides(CrossField(), ["low=-5"])
    with pytest.raises(store.RunError, match="config.json: invalid config: low 3.0 must not exceed"):
        config_from_dict(CrossField, {"low": 3.0})


def test_checks_are_plain_callables_and_inherited_with_the_field():
    @dataclasses.dataclass(frozen=True)
    class Odd:
        n: int = dataclasses.field(default=3, metadata={"check": lambda v: None if v % 2 else "must be odd"})

    @dataclasses.dataclass(frozen=True)
    class Child(ToyConfig):
        n_features: int = 7  # a new default; the check is still count()'s

    with pytest.raises(ConfigError, match="n must be odd, got 4"):
        apply_overrides(Odd(), ["n=4"])
    assert declared_check(Child, "n_features") is declared_check(ToyConfig, "n_features")
    with pytest.raises(ConfigError, match="n_features must be a positive integer"):
        apply_overrides(Child(), ["n_features=0"])


def _experiment_fields(kind: str = "ranged"):
    """(experiment, field) of every Config field; "ranged": those with a range to check, "bool": the flags,
    whose type is their whole rule, "str": names (a model, an axis spec) that the Config's __post_init__
    looks up."""
    for name in registry.available():
        cls = registry.load_experiment(name).config_cls
        for f in dataclasses.fields(cls):
            field_kind = {bool: "bool", "bool": "bool", str: "str", "str": "str"}.get(f.type, "ranged")
            if field_kind == kind:
                yield pytest.param(name, f.name, id=f"{name}.{f.name}")


@pytest.mark.parametrize("name, field", list(_experiment_fields("str")))
def test_every_experiment_name_field_refuses_a_name_it_does_not_know(name, field):
    cfg = registry.load_experiment(name).make_config(quick=True)
    with pytest.raises(ConfigError) as e:
        apply_overrides(cfg, [f"{field}=no such thing"])
    assert "\n" not in str(e.value) and "no such thing" in str(e.value), str(e.value)


@pytest.mark.parametrize("name, field", list(_experiment_fields("bool")))
def test_every_experiment_flag_takes_only_booleans(name, field):
    cfg = registry.load_experiment(name).make_config(quick=True)
    for text in ("2", "maybe", "0.5"):
        with pytest.raises(ConfigError) as e:
            apply_overrides(cfg, [f"{field}={text}"])
        assert field in str(e.value) and "\n" not in str(e.value)
    assert getattr(apply_overrides(cfg, [f"{field}=false"]), field) is False


def _out_of_range(check: Check) -> list:
    """Values just outside `check`'s interval (its ends if open, one past them if closed)."""
    bad = []
    if math.isfinite(check.low):
        bad.append(check.low if check.low_open else check.low - 1)
    if math.isfinite(check.high):
        bad.append(check.high if check.high_open else check.high + 1)
    if check.integer:
        bad.append(0.5 + max(check.low, 0))  # not an integer, though it may lie inside
    return bad


@pytest.mark.parametrize("name, field", list(_experiment_fields()))
def test_every_experiment_field_declares_a_check_that_rejects_out_of_range_values(name, field):
    exp = registry.load_experiment(name)
    cfg = exp.make_config(quick=True)
    check = declared_check(exp.config_cls, field)
    assert check is not None, f"{name}.Config.{field} declares no check (superpose.lab.fields)"
    validate_config(cfg)
    assert check(getattr(cfg, field)) is None and check(getattr(exp.make_config(), field)) is None
    assert isinstance(check, Check)
    sequence = isinstance(getattr(cfg, field), tuple)
    for value in _out_of_range(check):
        text = repr(value) + ("," if sequence else "")
        with pytest.raises(ConfigError) as e:
            apply_overrides(cfg, [f"{field}={text}"])
        message = str(e.value)
        assert message.startswith(f"{field} ") or message.startswith(f"--set {field}="), message
        assert "\n" not in message


# --- every bad input through the entry point -----------------------------------------------------------


@pytest.mark.parametrize(
    "override, fragments",
    [
        ("densities=0,0.5", ["densities", "(0, 1]"]),
        ("densities=0.5,1.5", ["densities", "(0, 1]"]),
        ("densities=-0.1", ["densities", "(0, 1]"]),
        ("n_features=0", ["n_features must be a positive integer"]),
        ("n_hidden=-3", ["n_hidden must be a positive integer"]),
        ("n_hidden=2.5", ["n_hidden", "expected an integer"]),
        ("importance=1,nan", ["importance must be finite"]),
        ("importance=inf", ["importance must be finite"]),
        ("importance=-1", ["importance must be non-negative"]),
        ("lr=-0.001", ["lr must be positive"]),
        ("lr=0", ["lr must be positive"]),
        ("lr=nan", ["lr must be finite"]),
        ("n_steps=-5", ["n_steps must be a positive integer"]),
        ("warmup_steps=-1", ["warmup_steps must be a non-negative integer below 2**31"]),
        ("n_steps=2147483648", ["n_steps must be a positive integer below 2**31"]),
        ("p_active=inf", ["p_active must be finite"]),
        ("weight_decay=-1", ["weight_decay must be non-negative"]),
        ("seed=-1", ["seed must be an integer in [0, 2**32)"]),
        ("n_steps=abc", ["n_steps='abc'", "expected an integer"]),
        ("lr=fast", ["lr='fast'", "expected a number"]),
        ("flag=maybe", ["flag='maybe'", "true or false"]),
        ("model=sigmoid", ["model='sigmoid'", "one of relu, linear"]),
        ("bogus=1", ["unknown config key 'bogus'", "known keys: n_features"]),
        ("n_steps", ["expected KEY=VALUE"]),
        ("=5", ["missing key"]),
        ("p_active=1.5", ["feature_prob", "(0, 1]"]),  # no declared check: make_hyper rejects it in train
    ],
)
def test_bad_config_values_exit_2_with_one_line(capsys, tmp_path, override, fragments):
    code = main(TOY, ["--set", override, "--runs-dir", str(tmp_path), "--quiet"])
    fails(capsys, code, *fragments)
    assert not list(tmp_path.glob("toy/*")), "a run rejected before training leaves no directory"


def test_bad_quick_overrides_in_a_script_are_config_errors(capsys, tmp_path):
    broken = dataclasses.replace(TOY, quick={"no_such_field": 1})
    fails(capsys, main(broken, ["--quick", "--runs-dir", str(tmp_path)]), "invalid config")


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(TOY, ["--devices", "two"])
    fails(capsys, e.value.code, "--devices", "invalid int value")
    with pytest.raises(SystemExit) as e:
        cli.main(["run"])
    fails(capsys, e.value.code, "NAME")


@pytest.mark.parametrize("devices, fragment", [("0", "positive integer"), ("9999", "device(s) available")])
def test_bad_device_counts(capsys, tmp_path, devices, fragment):
    fails(capsys, main(TOY, ["--devices", devices, "--runs-dir", str(tmp_path)]), "--devices", fragment)


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("n_features=0", "n_features must be a positive integer"),
        ("n_hidden=-1", "n_hidden must be a positive integer"),
        ("importance_ratio=nan", "importance_ratio must be finite"),
        ("importance_ratio=inf", "importance_ratio must be finite"),
        ("lr=-1e-3", "lr must be positive"),
        ("n_steps=-100", "n_steps must be a positive integer"),
        (
            "n_steps=1009",
            "n_steps (1009) must be a multiple of the snapshot spacing (10)",
        ),  # checked in train
        ("n_seeds=0", "n_seeds must be a positive integer"),
    ],
)
def test_intro_bad_values(capsys, tmp_path, override, fragment):
    code = cli.main(["run", "intro", "--quick", "--set", override, "--runs-dir", str(tmp_path)])
    fails(capsys, code, fragment)
    assert not list(tmp_path.glob("intro/*"))


def test_unknown_experiment(capsys):
    fails(capsys, cli.main(["run", "no_such_thing"]), "unknown experiment 'no_such_thing'", "intro")
    fails(capsys, cli.main(["run", "../intro"]), "unknown experiment '../intro'")
    # Modules of the experiments package that define no EXPERIMENT (the runner, shared helpers) are not listed.
    fails(capsys, cli.main(["run", "reproduce_all"]), "unknown experiment 'reproduce_all'")
    fails(capsys, cli.main(["run", "phase_diagram"]), "unknown experiment 'phase_diagram'")


# --- config.json read back -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, fragment",
    [
        ({"n_features": "five"}, "'n_features' should be an integer"),
        ({"densities": 0.5}, "'densities' should be comma-separated values"),
        ({"flag": 1}, "'flag' should be true or false"),
        ({"nope": 1}, "unknown config key 'nope'"),
        ({"densities": [0.0]}, "invalid config: densities"),
    ],
)
def test_config_from_dict_names_the_file(values, fragment):
    with pytest.raises(store.RunError, match="config.json") as e:
        config_from_dict(ToyConfig, values, source="runs/toy/x/config.json")
    assert fragment in str(e.value)


def test_config_from_dict_round_trip():
    cfg = ToyConfig(densities=(0.5, 0.25), limit=3, flag=True)
    assert config_from_dict(ToyConfig, dataclasses.asdict(cfg) | {"densities": [0.5, 0.25]}) == cfg


# --- NaN / inf during training -------------------------------------------------------------------------


def test_huge_learning_rate_diverges_with_named_instances(capsys, tmp_path):
    code = cli.main(["run", "intro", *INTRO_TINY, "--set", "lr=1e30", "--runs-dir", str(tmp_path)])
    line = fails(capsys, code, "sweep 'main' diverged in chunk 1/2", "NaN/inf", "of 4 instances")
    assert "#0 (seed 0, lr 1e+30)" in line and "no checkpoint had been written" in line
    (run,) = store.list_runs(tmp_path)
    assert run.status() == "failed"
    assert "Diverged" in run.lineage()["error"]
    assert not run.file("results.npz").exists() and not run.complete


def test_nan_in_one_instance_keeps_the_last_good_checkpoint(capsys, tmp_path, monkeypatch):
    original = Sweep.run_chunk

    def poisoned(self, state, chunk_index):
        state, log = original(self, state, chunk_index)
        if chunk_index == 1:  # the second of two chunks: instance 1's weights become NaN
            params = dict(state.params, W=state.params["W"].at[1].set(jnp.nan))
            state = state._replace(params=params)
        return state, log

    monkeypatch.setattr(Sweep, "run_chunk", poisoned)
    # One fit per density: nothing to choose from, so a diverged instance stops the run (with several fits it
    # is marked and never kept: test_a_diverged_fit_among_several_is_marked_and_never_kept).
    code = cli.main(["run", "intro", *INTRO_TINY, "--set", "n_seeds=1", "--runs-dir", str(tmp_path)])
    line = fails(capsys, code, "diverged in chunk 2/2", "1 of 2 instances: #1 (seed 0", "after chunk 1")
    (run,) = store.list_runs(tmp_path)
    assert str(run.checkpoint_path("main")) in line
    ckpt = store.read_npz(run.checkpoint_path("main"))
    assert int(ckpt["next_chunk"]) == 1
    assert all(np.isfinite(v).all() for k, v in ckpt.items() if v.dtype.kind == "f")
    assert run.status() == "failed"


def test_a_diverged_fit_among_several_is_marked_and_never_kept(capsys, tmp_path, monkeypatch):
    original = Sweep.run_chunk

    def poisoned(self, state, chunk_index):
        state, log = original(self, state, chunk_index)
        if chunk_index == 1:  # instance 2 (density 0.05, seed 0) diverges; seed 1 at that density does not
            params = dict(state.params, W=state.params["W"].at[2].set(jnp.nan))
            state = state._replace(params=params)
        return state, log

    monkeypatch.setattr(Sweep, "run_chunk", poisoned)
    code = cli.main(["run", "intro", *INTRO_TINY, "--runs-dir", str(tmp_path)])
    capsys.readouterr()
    run = superpose.load_run("latest", root=tmp_path)
    every = run.study()
    assert every.diverged.reshape(-1).tolist() == [False, False, True, False]
    assert np.isnan(every.final_loss.reshape(-1)[2])
    assert every.best().kept["seed"].tolist()[1] == 1  # density 0.05 keeps the fit that did not diverge
    assert np.isfinite(run.arrays["best_W"]).all() and code in (0, 1)
