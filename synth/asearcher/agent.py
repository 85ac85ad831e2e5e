"""The ASearcher synthesis loop, run for a batch of QAs in lockstep: each phase of a turn (choose
an action, fuzz, link QA, coverage, compose, validity, 8 solver samples, uniqueness) is one
generate call for every QA still going, so the engine batches them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engines.base import Engine
from rollouts.service import Measured, RolloutService
from schemas.config import AsearcherConfig
from schemas.engine import SamplingParams
from schemas.keys import content_key, problem_id
from synth.asearcher.algorithm import (
    QA,
    Entity,
    QaState,
    action_prompt,
    alternative_prompt,
    compose_prompt,
    coverage_prompt,
    direct_gen_acc,
    document_sentence,
    find_entity,
    fuzz_prompt,
    link_qa_prompt,
    names_title,
    parse_action,
    parse_qa,
    titled,
    uniqueness,
    unsupported_names,
    validity_prompt,
    wrong_answers,
    yes_no,
)
from synth.labels import learnable
from verifiers.qa import normalize
from warehouse.corpus import Doc, plain

JUDGE_TOKENS = 16


@dataclass(frozen=True)
class InBand:
    """An accepted QA of the history that some, not all, of the policy's solvers answered, with
    the facts and documents it rested on then and its solving rollouts."""

    turn: int
    qa: QA
    statements: list[str]
    entities: list[Entity]
    measured: Measured


class Agent:
    def __init__(
        self,
        service: RolloutService,
        settings: AsearcherConfig,
        source: str,
        linked: Any,
        seed: int = 0,
        judge_engine: Engine | None = None,
        names: frozenset[str] = frozenset(),
    ) -> None:
        self.service, self.settings, self.source = service, settings, source
        self.names = names  # the corpus's names, which an edit may not add in lower case either
        # the validity, uniqueness and coverage judges: the independent checker, else the policy
        self.judge_engine = judge_engine or service.engine
        self.linked = linked  # doc_id -> the documents linked to it either way
        self.solver = service.with_config(service.config.model_copy(update={"n": settings.solvers}))
        self.seed = seed
        self.raw: dict[int, list[dict[str, str]]] = {}  # per state: every judge reply, for auditing
        self.measured: dict[int, Measured] = {}  # per state: the solving rollouts of its accepted QA
        self.in_band: dict[int, InBand] = {}  # per state: the last accepted QA that was in band
        self.aliases: dict[int, tuple[str, ...]] = {}  # per state: its answer's other names

    # -- model calls ------------------------------------------------------------------------------
    def ask(
        self,
        prompts: list[str],
        max_tokens: int | None = None,
        engine: Engine | None = None,
        temperature: float | None = None,
    ) -> list[str]:
        if not prompts:
            return []
        cfg = self.settings
        params = SamplingParams(
            n=1,
            temperature=cfg.temperature if temperature is None else temperature,
            top_p=cfg.top_p,
            max_tokens=max_tokens or cfg.max_tokens,
            seed=self.seed,
        )
        self.seed += 1
        groups = (engine or self.service.engine).generate([[{"role": "user", "content": p}] for p in prompts], params)
        return [group[0].text for group in groups]

    def judge(
        self, owners: list[int], prompts: list[str], kind: str, about: list[str] | None = None
    ) -> list[bool | None]:
        """Each prompt's yes/no; the replies are kept per owner for the audit, with what each was
        about (the uniqueness judge's other answer)."""
        replies = self.ask(prompts, JUDGE_TOKENS, self.judge_engine, self.settings.judge_temperature)
        for j, (owner, reply) in enumerate(zip(owners, replies, strict=True)):
            self.raw.setdefault(owner, []).append(
                {"judge": kind, "reply": reply, **({"about": about[j]} if about else {})}
            )
        return [yes_no(r) for r in replies]

    # -- the three checks ---------------------------------------------------------------------------
    def check(self, items: list[tuple[int, QA, list[str]]]) -> dict[int, tuple[bool, str | None, float | None]]:
        """(accepted, reason, direct_gen_acc) per state for its candidate QA."""
        out: dict[int, tuple[bool, str | None, float | None]] = {}
        verdicts = self.judge([i for i, _, _ in items], [validity_prompt(qa, st) for _, qa, st in items], "validity")
        valid = []
        for (i, qa, statements), verdict in zip(items, verdicts, strict=True):
            if verdict is not True:
                out[i] = (
                    False,
                    "invalid: the validity judge said no"
                    if verdict is False
                    else "invalid: the validity judge said neither yes nor no",
                    None,
                )
            else:
                valid.append((i, qa, statements))
        if not valid:
            return out
        problems = [self._problem(qa, self.aliases.get(i, ())) for i, qa, _ in valid]
        completions, seeds = self.solver.sample(problems)
        grades = self.solver.grade(problems, [[c.text for c in group] for group in completions])
        asks: list[tuple[int, str, str]] = []
        for (i, qa, statements), graded in zip(valid, grades, strict=True):
            wrong = wrong_answers([g.extracted for g in graded], [g.correct for g in graded])
            asks.extend((i, alternative_prompt(qa, statements, w), w) for w in wrong[: self.settings.max_alternatives])
        unique_votes = (
            self.judge([a[0] for a in asks], [a[1] for a in asks], "uniqueness", [a[2] for a in asks]) if asks else []
        )
        by_state: dict[int, list[bool | None]] = {}
        for (i, *_), vote in zip(asks, unique_votes, strict=True):
            by_state.setdefault(i, []).append(vote)
        for (i, _, _), problem, group, graded, seed in zip(valid, problems, completions, grades, seeds, strict=True):
            accuracy = direct_gen_acc([g.correct for g in graded])
            unique, reason = uniqueness(by_state.get(i, []))
            if unique:
                self.measured[i] = self.solver.rows(problem, group, graded, seed=seed)
            out[i] = (unique, reason, accuracy)
        return out

    def _problem(self, qa: QA, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            "problem_id": problem_id("qa", qa.question, qa.answer),
            "domain": "qa",
            "statement": qa.question,
            "answer": qa.answer,
            "verifier": "qa",
            "source": self.source,
            **({"extra": {"aliases": list(aliases)}} if aliases else {}),
        }

    # -- the loop -----------------------------------------------------------------------------------
    def run(self, states: list[QaState]) -> list[str | None]:
        """Check every base QA (turn 0), then grow the ones that passed; returns per state the
        reason its base QA was rejected (None when it passed)."""
        self.aliases = {i: s.aliases for i, s in enumerate(states)}  # what a solver may also answer
        base = self.check([(i, s.qa, s.statements) for i, s in enumerate(states)])
        failed: list[str | None] = []
        for i, state in enumerate(states):
            ok, reason, accuracy = base[i]
            if ok:
                self._commit(i, state, 0, "base", state.qa, accuracy)
                failed.append(None)
            else:
                state.reject(0, "base", reason)
                state.done = True
                failed.append(reason)
        for turn in range(1, self.settings.max_turns + 1):
            active = [i for i, s in enumerate(states) if not s.done]
            if not active:
                break
            self._turn(turn, states, active)
        return failed

    def _turn(self, turn: int, states: list[QaState], active: list[int]) -> None:
        choices = self.ask([action_prompt(states[i]) for i in active])
        fuzz, inject = [], []
        for i, reply in zip(active, choices, strict=True):
            state = states[i]
            parsed = parse_action(reply, state.ready_to_exit)
            if isinstance(parsed, str):
                state.reject(turn, "choose", parsed)
            elif parsed[0] == "exit":
                state.edit_history.append({"turn": turn, "action": "exit", "accepted": True})
                state.done = True
            elif parsed[0] == "fuzz":
                fuzz.append(i)
            else:
                inject.append((i, parsed[1]))
        candidates: list[tuple[int, str, QA, str | None, Entity | None]] = []
        for i, reply in zip(fuzz, self.ask([fuzz_prompt(states[i]) for i in fuzz]), strict=True):
            qa = self._same_answer(states[i], parse_qa(reply, need_statement=False))
            if not isinstance(qa, str) and (
                added := unsupported_names(qa.question, self._known(states[i]), self.names)
            ):
                qa = f"invalid: the fuzz adds what the facts do not hold: {', '.join(added[:3])}"
            if isinstance(qa, str):
                states[i].reject(turn, "fuzz", qa)
            else:
                candidates.append((i, "fuzz", qa, None, None))
        candidates.extend(self._inject(turn, states, inject))
        if not candidates:
            return
        results = self.check(
            [
                (i, qa, states[i].statements + ([statement] if statement else []))
                for i, _, qa, statement, _ in candidates
            ]
        )
        for i, action, qa, statement, entity in candidates:
            ok, reason, accuracy = results[i]
            detail = {"question": qa.question} | ({"neighbour": entity.title} if entity else {})
            if ok:
                self._commit(i, states[i], turn, action, qa, accuracy, statement, entity, **detail)
            else:
                states[i].reject(turn, action, reason, **detail)

    def _inject(
        self, turn: int, states: list[QaState], chosen: list[tuple[int, str | None]]
    ) -> list[tuple[int, str, QA, str, Entity]]:
        picks: list[tuple[int, Entity, Doc]] = []
        for i, name in chosen:
            entity = find_entity(states[i].entities, name)
            if entity is None:
                states[i].reject(turn, "inject", f"invalid: '{name}' is not one of the relevant entities")
                continue
            unused = [d for d in self.linked(entity.doc_id) if d.doc_id not in states[i].used]
            if not unused:
                states[i].reject(turn, "inject", f"no unused document linked to '{entity.title}'")
                continue
            # a reproducible "random" neighbour: the one whose id hashes first for this turn
            neighbour = min(unused, key=lambda d: content_key(d.doc_id, str(turn), str(i)))
            picks.append((i, entity, neighbour))
        text = self.settings.max_doc_chars
        replies = self.ask([link_qa_prompt(e.title, d.title, plain(d.text)[:text]) for _, e, d in picks])
        linked: list[tuple[int, Entity, Doc, QA]] = []
        for (i, entity, neighbour), reply in zip(picks, replies, strict=True):
            qa = parse_qa(reply)
            if isinstance(qa, str):
                states[i].reject(turn, "inject", f"link QA {qa}", neighbour=neighbour.title)
            elif normalize(qa.answer) != normalize(entity.title):
                states[i].reject(
                    turn, "inject", f"link QA answers '{qa.answer}', not '{entity.title}'", neighbour=neighbour.title
                )
            elif (fact := document_sentence(qa.statement, plain(neighbour.text)[:text])) is None:
                # the new fact is read by the reading check: it must be the neighbour's sentence
                why = "link QA ungrounded: the statement is not a sentence of the linked document"
                states[i].reject(turn, "inject", why, neighbour=neighbour.title)
            else:
                linked.append((i, entity, neighbour, QA(qa.question, qa.answer, titled(fact, neighbour.title))))
        covered = self.judge(
            [i for i, *_ in linked],
            [coverage_prompt(qa.statement, states[i].statements) for i, _, _, qa in linked],
            "coverage",
        )
        fresh = []
        for (i, entity, neighbour, qa), verdict in zip(linked, covered, strict=True):
            if verdict is not False:
                why = "the new fact is already known" if verdict else "the coverage judge said neither yes nor no"
                states[i].reject(turn, "inject", f"covered: {why}", neighbour=neighbour.title)
            else:
                fresh.append((i, entity, neighbour, qa))
        composed = self.ask([compose_prompt(states[i], entity.title, qa.question) for i, entity, _, qa in fresh])
        out = []
        for (i, _, neighbour, link), reply in zip(fresh, composed, strict=True):
            qa = self._same_answer(states[i], parse_qa(reply, need_statement=False))
            known = [*self._known(states[i]), link.statement, neighbour.title]
            if not isinstance(qa, str) and (added := unsupported_names(qa.question, known, self.names)):
                qa = f"invalid: the question adds what the facts do not hold: {', '.join(added[:3])}"
            if isinstance(qa, str):
                states[i].reject(turn, "inject", f"compose {qa}", neighbour=neighbour.title)
            else:
                out.append((i, "inject", qa, link.statement, Entity(neighbour.doc_id, neighbour.title)))
        return out

    def _commit(
        self,
        i: int,
        state: QaState,
        turn: int,
        action: str,
        qa: QA,
        accuracy: float | None,
        statement: str | None = None,
        entity: Entity | None = None,
        **detail: Any,
    ) -> None:
        state.commit(turn, action, qa, accuracy, statement, entity, **detail)
        measured = self.measured[i]
        if learnable(measured.correct, len(measured.grades))[0]:
            self.in_band[i] = InBand(turn, qa, list(state.statements), list(state.entities), measured)

    @staticmethod
    def _known(state: QaState) -> list[str]:
        """What an edit may name: the question it edits, the facts and the documents' titles."""
        return [state.qa.question, *state.statements, *(e.title for e in state.entities)]

    @staticmethod
    def _same_answer(state: QaState, qa: QA | str) -> QA | str:
        """The edited QA, which must keep the answer (official: a hard assert on the answer)."""
        if isinstance(qa, str):
            return qa
        if normalize(qa.answer) != normalize(state.qa.answer):
            return f"answer changed: '{qa.answer}' instead of '{state.qa.answer}'"
        if qa.question.strip() == state.qa.question.strip():
            return "unchanged: the question is the same"
        if named := next((n for n in (state.qa.answer, *state.aliases) if names_title(qa.question, n)), None):
            return f"invalid: the question states its answer ({named})"  # solvers would copy it
        return QA(qa.question, state.qa.answer)
