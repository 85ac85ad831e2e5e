"""Labels from inside a method's validation: the checker model that label checks ask, the labels
the checks derive from a statement alone (``derive``), and the configured checks on a label a
method already has (``checked``), with the provenance that results.

The checker (``checks.program_of_thought.model``): ``auto`` (the default) takes a bundled coder
of another family than the policy (the Qwen2.5 coder for SmolLM2), else one of other weights (the
other Qwen size for a Qwen policy); ``policy`` is the policy itself; or a bundled name, a model
folder, or the served model of ``urls``. A checker whose weights are the policy's or those of one
of its ancestors (the base a trained policy came from) is not independent: its agreement counts
for nothing, whatever it is called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from checks import (
    MODEL_CHECKS,
    CheckContext,
    LabelItem,
    configured,
    derive_labels,
    label_provenance,
    run_checks,
    verdict_rows,
)
from checks.arithmetic import NAME as ARITHMETIC
from engines import LazyEngine
from engines.base import Engine
from engines.bundled import REGISTRY, family, is_bundled, is_model_folder, part_paths, resolve_model, shape
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.engine import Completion, EngineSpec
from schemas.errors import HardforgeError
from synth.base import Candidate, Decision, problem_key
from synth.voting import vote

AUTO, POLICY = "auto", "policy"
# what ``auto`` tries, in order: the checker the gold audit chose first (docs/labels.md)
AUTO_CHECKERS: tuple[str, ...] = ("bundled:qwen2.5-coder-1.5b", "bundled:qwen2.5-coder-0.5b")


@dataclass(frozen=True)
class Checker:
    """The model label checks ask: ``folder`` None with ``served`` None means the policy's own engine."""

    name: str  # what the verdicts call it
    relation: str  # to the policy: "the policy", "the policy's own weights", "another family (qwen2)", ...
    independent: bool
    folder: str | None = None
    served: str | None = None  # backend "openai": the served model's name


def _revision(folder: str) -> str | None:
    from rollouts.policies import model_revision

    try:
        return model_revision(Path(folder))
    except OSError:
        return None


@lru_cache(maxsize=64)
def _revision_cached(folder: str, mtime_ns: int) -> str | None:
    return _revision(folder)


def revision_of(folder: str) -> str | None:
    try:
        return _revision_cached(folder, Path(folder).stat().st_mtime_ns)
    except OSError:
        return None


def lineage(
    config: HardforgeConfig, policy_id: str, policy_folder: str | None
) -> tuple[set[str], str | None, tuple | None]:
    """The weight fingerprints of the policy and its ancestors (a trained policy's base among
    them), the policy's family and its shape; from the warehouse when the policy is registered."""
    from rollouts.policies import get_policy, lineage_revisions
    from warehouse.db import Warehouse

    revisions: set[str] = set()
    folder = policy_folder
    warehouse = Warehouse(config.data_dir)
    try:
        if warehouse.path.exists():
            revisions = lineage_revisions(warehouse, policy_id)
            folder = folder or get_policy(warehouse, policy_id).model_path
    except HardforgeError:  # not registered (a scripted policy), or a worker with no warehouse
        pass
    own = revision_of(folder) if folder and Path(folder).is_dir() else None
    if own:
        revisions.add(own)
    if not (folder and Path(folder).is_dir()):
        return revisions, None, None
    return revisions, family(Path(folder)), shape(Path(folder))


def _installed(name: str) -> bool:
    try:
        part_paths(REGISTRY[name])
        return True
    except HardforgeError:
        return False


def choose_checker(config: HardforgeConfig, policy_id: str, policy_folder: str | None) -> Checker:
    """The checker the config names, and whether its agreement is independent of the policy."""
    cfg = config.checks.program_of_thought
    model = cfg.model or POLICY
    if model == POLICY:  # served or not, the policy checking itself
        return Checker("the policy", "the policy", False)
    if cfg.urls:
        if config.engine.urls and set(cfg.urls) & set(config.engine.urls) and model == config.engine.model:
            return Checker(model, "the policy's server and model", False, served=model)
        # its weights are the server's: the user named a model other than the policy
        return Checker(model, "a served model named apart from the policy", True, served=model)
    revisions, policy_family, policy_shape = lineage(config, policy_id, policy_folder)

    def relation_of(folder: Path, name: str) -> Checker:
        if revision_of(str(folder)) in revisions:
            return Checker(name, "the policy's own weights", False, str(folder))
        if policy_shape is not None and shape(folder) == policy_shape:
            # a fine-tune, a quantized or re-converted copy of the policy's model: not independent
            return Checker(name, "the policy's model (same family and size)", False, str(folder))
        other = family(folder)
        if policy_family is None or other is None:
            return Checker(name, "another model (family unknown)", True, str(folder))
        kind = "same family" if other == policy_family else "another family"
        return Checker(name, f"{kind} ({other}), other weights", True, str(folder))

    if model == AUTO:
        if policy_family is None and not revisions:  # fail closed: any bundled model may be the policy
            why = "the policy (its weights are unknown, e.g. served: name a checker in checks.program_of_thought.model)"
            return Checker("the policy", why, False)
        choices = []
        for name in AUTO_CHECKERS:
            if not _installed(name):
                continue
            bundled_family = REGISTRY[name].family
            choices.append((bundled_family == policy_family, name))
        # another family first, then other weights of the same family, in AUTO_CHECKERS order
        for _, name in sorted(choices, key=lambda c: c[0]):
            chosen = relation_of(resolve_model(name, config.models_dir), name)
            if chosen.independent:
                return chosen
        return Checker("the policy", "the policy (no bundled checker of other weights is installed)", False)
    if is_bundled(model) or Path(model).expanduser().is_dir():
        return relation_of(resolve_model(model, config.models_dir), model)
    raise HardforgeError(
        f"checks.program_of_thought.model '{model}' is not auto, policy, a bundled model "
        f"({', '.join(REGISTRY)}) or a model folder (set urls for a served model)."
    )


def checker_engine(config: HardforgeConfig, service: RolloutService, checker: Checker) -> Engine:
    cfg = config.checks.program_of_thought
    if checker.folder is None and checker.served is None and not cfg.urls:
        assert service.engine is not None
        return service.engine
    return LazyEngine(
        EngineSpec(
            cfg.backend,
            checker.folder or cfg.model or "",
            config.engine.dtype,
            urls=tuple(cfg.urls),
            served_model=cfg.model if cfg.urls else None,
            seed=config.rollouts.seed,
        )
    )


def independent_engine(config: HardforgeConfig, service: RolloutService) -> tuple[Engine | None, Checker]:
    """The checker's engine where its weights are independent of the policy's (else None), and
    the checker chosen: a judge other than the policy, for a method that asks one."""
    chosen = choose_checker(config, service.policy_id, _policy_folder(service))
    return (checker_engine(config, service, chosen) if chosen.independent else None), chosen


def _policy_folder(service: RolloutService) -> str | None:
    path = getattr(service.engine, "model_path", None)
    return str(path) if path and is_model_folder(Path(str(path))) else None


def context(config: HardforgeConfig, service: RolloutService) -> CheckContext:
    chosen: list[Checker] = []

    def checker() -> Checker:  # chosen when a check first needs it: a run with no model check loads nothing
        if not chosen:
            chosen.append(choose_checker(config, service.policy_id, _policy_folder(service)))
        return chosen[0]

    return CheckContext(
        config,
        sandbox=lambda: service.verifiers.get("stdio").sandbox,
        checker=lambda: checker_engine(config, service, checker()),
        independence=lambda: (checker().independent, f"{checker().name}, {checker().relation}"),
    )


@dataclass
class Label:
    """A label for a problem and how it is known: ``derived`` by a check (provenance ``checked``),
    or ``None`` with the verdicts that could not derive one."""

    value: str | None
    record: dict[str, Any]

    @property
    def check(self) -> str | None:
        return self.record.get("derived_by")


def derive(
    config: HardforgeConfig, service: RolloutService, statements: list[str], *, model_checks: bool = True
) -> list[Label]:
    """Per math statement: the label a configured check computes from the statement alone
    (exact arithmetic, the checker's programs agreeing), or none; ``model_checks`` False leaves
    out the checks that ask the checker model (when no label could change the decision)."""
    if not statements:
        return []
    names = [n for n in configured(config, "math") if model_checks or n not in MODEL_CHECKS]
    out = []
    for value, verdicts in derive_labels(context(config, service), "math", statements, names):
        by = next((v.check for v in verdicts if v.derived is not None), None)
        out.append(Label(value, {"base": "derived", "derived_by": by, "checks": verdict_rows(verdicts)}))
    return out


def learnable(k: int, n: int) -> tuple[bool, str | None]:
    """In band for the policy: some but not all of its ``n`` solutions are right."""
    if 0 < k < n:
        return True, None
    if k >= n:
        return False, f"too easy: all {n} solutions are right"
    return False, f"unsolvable for the policy: none of {n} solutions is right"


def banded(
    k: int,
    n: int,
    band: Callable[[int, int], tuple[bool, str | None]] = learnable,
    stands_unsolved: bool = False,
) -> tuple[bool, str | None, bool]:
    """(accepted, reason, out of band): a checked label outside the band is kept out of band when
    too easy (every solution right), and when unsolved only where it ``stands_unsolved``: computed
    by exact arithmetic from a statement that is one plain expression, which has one value
    ("Compute 83 - 65.", which a 0.5B answered 28 four times), or, with
    ``synth.asearcher.keep_unanswered``, a QA every reading of its facts answers with the label. Where the checker's programs alone hold an unsolved
    problem's label it is not kept: 4 of 11 such were ill-posed (issue 32)."""
    accepted, reason = band(k, n)
    return accepted, reason, not accepted and (k >= n or (stands_unsolved and k == 0))


def exact(label: Label) -> bool:
    """Whether exact arithmetic derived the label (``checks.arithmetic``: a plain expression)."""
    return label.check == ARITHMETIC


def derived_decision(
    solver: RolloutService,
    candidate: Candidate,
    completions: list[Completion],
    answers: list[str | None],
    label: Label,
    seed: int,
    band: Callable[[int, int], tuple[bool, str | None]] = learnable,
) -> Decision:
    """The decision on a proposal whose label a check derived: the label is the check's
    (``checked``); the policy's solutions, graded against it, say only how hard the problem is."""
    assert label.value is not None
    candidate.problem["answer"] = label.value
    problem = {**candidate.problem, "problem_id": problem_key(candidate.problem)}
    (grades,) = solver.grade([problem], [[c.text for c in completions]])
    k = sum(g.correct for g in grades)
    accepted, reason, out_of_band = banded(k, len(grades), band, exact(label))
    counted = vote(answers)
    meta = {
        "k": k,
        "n": len(grades),
        "label": label.value,
        "derived_by": label.check,
        "majority": counted.answer,
        "majority_ratio": round(counted.ratio, 4),
        "answers": answers,
    }
    measured = solver.rows(problem, completions, grades, seed=seed)
    return Decision(
        accepted, reason, meta, measured, provenance="checked", checks=label.record, out_of_band=out_of_band
    )


def checked(
    config: HardforgeConfig, service: RolloutService, verifier: str, items: list[LabelItem], base: str
) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    """Per item: (provenance or None, the rejection reason or None, the record of its checks)."""
    out = []
    for verdicts in run_checks(context(config, service), verifier, items):
        provenance, reason = label_provenance(base, verdicts)
        out.append((provenance, reason, {"base": base, "checks": verdict_rows(verdicts)}))
    return out
