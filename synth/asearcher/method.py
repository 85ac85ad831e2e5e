"""ASearcher's inject/fuzz QA synthesis on the synthesis contract (methods.md §3):

1. seeds: root documents of a local corpus with links (``hardforge ingest corpus foldoc``): the
   BM25 hits of ``topic`` (bm25s), else every linked document in a stable hashed order;
2. the proposer writes a base QA from the root's facts (question, short answer, statement);
3. validation runs the agent (``synth.asearcher.agent``): the base QA must pass validity,
   difficulty and uniqueness, then up to ``max_turns`` inject/fuzz turns, each kept only if it
   passes the same checks;
4. the problem is the last accepted QA (domain ``qa``, graded by the ``qa`` verifier), with its
   solving rollouts; where that QA is out of the policy's band (the official agent exits once no
   solver answers: its solvers search, ours answer closed-book) and an earlier QA of the history
   was in band, the last such QA is the problem instead, with the facts and rollouts it had then;
   ``method_meta`` keeps the QA and edit histories, the statements, the documents used and every
   judge reply. Its label is ``judged`` (the validity and uniqueness checks are the policy's
   judgement) until the label checks (``checks.qa``: the checker reads the QA's facts, among those
   of documents linked to its root, and answers the question) agree: then it is ``checked``; a
   reading that gives another answer rejects it, and a judged label alone is a candidate, not
   kept by default;
5. a checked QA is kept in band (``_band``: some, not all, of the policy's closed-book answers
   right), as every method's checked label is; out of band when too easy, or, with
   ``keep_unanswered``, when no solver answered it but its label stands without the policy
   (``stands_unanswered``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checks import LabelItem
from checks.addressed import addresses_the_checker
from checks.reading import NAME as READING
from rollouts.service import Measured, RolloutService
from schemas.config import AsearcherConfig
from schemas.engine import Chat, SamplingParams
from synth.asearcher.agent import Agent
from synth.asearcher.algorithm import (
    QA,
    Entity,
    QaState,
    base_qa_prompt,
    base_title_qa_prompt,
    document_sentence,
    grounded,
    names_title,
    negation,
    neighbour_facts,
    parse_qa,
    parse_title_qa,
    proper_names,
    shuffled,
    supporting_sentence,
    unsupported_names,
    wrong_answers,
)
from synth.base import Candidate, Decision, Seed, Synthesizer
from synth.labels import banded, checked, independent_engine, learnable
from verifiers.qa import normalize
from warehouse.corpus import CorpusSearch, Doc, documents, plain
from warehouse.db import Warehouse


@dataclass(frozen=True)
class BaseQa:
    """How the base QA is asked and read (``synth.asearcher.base_answer``)."""

    prompt: Callable[[str, str, tuple[str, ...]], str]  # (title, text, the title's other names) -> the request
    parse: Callable[[str, str], QA | str]  # (output, title) -> the QA, or why there is none
    # the answer the policy chose must be a phrase of the document (a title is its own by construction)
    grounds: bool


BASE_QA = {
    "title": BaseQa(base_title_qa_prompt, parse_title_qa, grounds=False),
    "phrase": BaseQa(
        lambda title, text, _aliases: base_qa_prompt(title, text),
        lambda output, _title: parse_qa(output, need_statement=False),
        grounds=True,
    ),
}


# the order roots are taken in without a topic: a stable hash, or the most cited first (the
# documents most others link to: "Unix", "C", "protocol"; a hash's first FOLDOC roots are entries
# no small policy answers closed-book), then the hash; cited is the default (docs/synthesis/asearcher.md)
ROOTS_SQL = {
    "random": "SELECT doc_id FROM documents WHERE corpus = ? ORDER BY hash(doc_id), doc_id",
    "cited": """SELECT d.doc_id FROM documents d LEFT JOIN (
        SELECT dst_id, count(DISTINCT src_id) AS cited FROM links WHERE corpus = ? AND src_id <> dst_id GROUP BY dst_id
    ) c ON c.dst_id = d.doc_id WHERE d.corpus = ? ORDER BY coalesce(c.cited, 0) DESC, hash(d.doc_id), d.doc_id""",
}
# distinct wrong answers an unanswered QA's solvers must have put to the uniqueness judge
UNANSWERED_ALTERNATIVES = 3
TAG = re.compile(r"<[^<>]*>")


def _read_unanimously(decision: Decision) -> bool:
    """Every reading of the reading check gave the label (not only ``min_agree`` of them)."""
    rows = (decision.checks or {}).get("checks", [])
    return any(
        r.get("check") == READING
        and r.get("outcome") == "agree"
        and r.get("detail", {}).get("right", -1) == r.get("detail", {}).get("samples")
        for r in rows
    )


def _band(decision: Decision, measured: Measured, settings: AsearcherConfig, question: str, label: str) -> None:
    """A checked QA is kept in band (0 < k < n of the policy's closed-book answers), as every
    method's checked label is. All right is too easy: kept out of band, paid as not learnable.
    None right is the official agent's goal (it exits at 0/8: its solvers search, ours answer
    without the facts), kept out of band only with ``keep_unanswered`` and where its label stands
    without the policy (``stands_unanswered``)."""
    wrong = wrong_answers([g.extracted for g in measured.grades], [g.correct for g in measured.grades])
    stands = settings.keep_unanswered and stands_unanswered(
        decision, wrong[: settings.max_alternatives], question, label
    )
    accepted, reason, out_of_band = banded(measured.correct, len(measured.grades), stands_unsolved=stands)
    if not accepted:
        decision.accepted, decision.reason, decision.out_of_band = False, reason, out_of_band
        decision.meta["reward"] = 0.0


def stands_unanswered(decision: Decision, asked: list[str], question: str, label: str) -> bool:
    """Whether a QA no solver answered keeps its label: every reading of the facts gave it, the
    solvers put at least ``UNANSWERED_ALTERNATIVES`` distinct wrong answers to the uniqueness judge
    (``asked``; "Python <answer>" is "Python" again, and the label is none), and the question says
    no "not": a reader answers the title of the one fact a question is closest to, and "the
    mechanism that does not intersect with the paper" was read as impact printer 4 of 4 times. The
    solvers are the policy, so the three answers cost an adversary little ("banana", "42"); what
    holds is the reading among the root's neighbours (``neighbour_facts``). A red team's solvers
    that answer nothing, or one thing, skip the judge; its "Which term do these facts define?" is
    refused as a question about the document before any judge reads it."""
    distinct = {normalize(TAG.sub(" ", w)) for w in asked} - {"", normalize(label)}
    negated = any(negation(word) for word in question.split())
    return len(distinct) >= UNANSWERED_ALTERNATIVES and not negated and _read_unanimously(decision)


def _chosen(state: QaState, agent: Agent, i: int) -> tuple[QA, list[str], list[Entity], Measured | None, str | None]:
    """The QA that becomes the problem: the last accepted one, unless it is out of the policy's
    band and an earlier one was in band; then (why) the last in-band one, with what it rested on."""
    final = (state.qa, state.statements, state.entities, agent.measured.get(i), None)
    earlier = agent.in_band.get(i)
    measured = agent.measured.get(i)
    if earlier is None or measured is None or earlier.qa == state.qa:
        return final
    k, n = measured.correct, len(measured.grades)
    if learnable(k, n)[0]:
        return final
    why = f"the last in-band QA (turn {earlier.turn}): the final one was {k}/{n} for the policy"
    return earlier.qa, earlier.statements, earlier.entities, earlier.measured, why


class AsearcherSynthesizer(Synthesizer):
    name = "asearcher"
    remote = False  # the agent reads the corpus in the warehouse at every turn
    _names: frozenset[str] = frozenset()  # the corpus's names (``proper_names``), read with the seeds

    @property
    def settings(self) -> AsearcherConfig:
        return self.config.synth.asearcher

    @property
    def base_qa(self) -> BaseQa:
        return BASE_QA[self.settings.base_answer]

    @property
    def source(self) -> str:
        return f"asearcher:{self.settings.corpus}"

    def seeds(self, warehouse: Warehouse, policy_id: str) -> list[Seed]:
        cfg = self.settings
        docs = documents(warehouse, cfg.corpus)
        self._warehouse = warehouse
        self._names = proper_names([(d.title, d.text) for d in docs])
        linked = set(
            warehouse.arrow(
                "SELECT DISTINCT src_id FROM links WHERE corpus = ? AND dst_id IS NOT NULL AND dst_id <> src_id",
                [cfg.corpus],
            )
            .column("src_id")
            .to_pylist()
        )
        if cfg.topic:
            roots = [d for d, _ in CorpusSearch(docs).search(cfg.topic, k=cfg.topic_roots) if d.doc_id in linked]
        else:
            sql = ROOTS_SQL[cfg.roots]
            order = warehouse.arrow(sql, [cfg.corpus] * sql.count("?")).column("doc_id").to_pylist()
            by_id = {d.doc_id: d for d in docs}
            roots = [by_id[i] for i in order if i in linked]
        return [Seed(d.doc_id, None, {"doc": d}) for d in roots]

    def prompts(self, seed: Seed, warehouse: Warehouse) -> list[Chat]:
        doc: Doc = seed.data["doc"]
        prompt = self.base_qa.prompt(doc.title, plain(doc.text)[: self.settings.max_doc_chars], doc.other_names())
        return [[{"role": "user", "content": prompt}]]

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(
            n=cfg.proposals,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_tokens=cfg.max_tokens,
            seed=self.config.rollouts.seed,
        )

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        doc: Doc = seed.data["doc"]
        text = plain(doc.text)[: self.settings.max_doc_chars]
        qa = self.base_qa.parse(output, doc.title)
        meta = {"root": doc.title}
        if isinstance(qa, str):
            return Candidate(seed, index, prompt, output, reason=f"base QA {qa}", meta=meta)
        if not self.base_qa.grounds and (
            named := next((n for n in doc.other_names() if names_title(qa.question, n)), None)
        ):
            # solvers that answer "IBM" to "What is the official name of IBM?" are right (the qa verifier's aliases)
            return Candidate(
                seed,
                index,
                prompt,
                output,
                reason=f"base QA invalid: the question states its answer ({named})",
                meta=meta,
            )
        # words for the judges are never shown to them; a name the document does not hold makes the
        # title a wrong label (a red team's "Which language did Larry Wall invent in 1987?" -> Python)
        added = unsupported_names(qa.question, [text, doc.title], self._names)
        refused = addresses_the_checker(qa.question) or (
            f"names what the document does not hold: {', '.join(added)}" if added else None
        )
        if refused:
            return Candidate(seed, index, prompt, output, reason=f"base QA invalid: {refused}", meta=meta)
        # the fact the reading check reads is the document's sentence that holds the answer and answers
        # the question best (the one the policy copied on a tie); never the policy's words
        copied = document_sentence(qa.statement, text) if qa.statement else None
        fact = supporting_sentence(qa.answer, text, qa.question, doc.title, prefer=copied)
        qa = QA(qa.question, qa.answer, fact or copied or "")
        if self.base_qa.grounds and not grounded(qa.answer, text):
            return Candidate(
                seed,
                index,
                prompt,
                output,
                reason="base QA ungrounded: the answer is not a phrase of the document",
                meta={**meta, "question": qa.question, "answer": qa.answer},
            )
        problem = {
            "domain": "qa",
            "statement": qa.question,
            "answer": qa.answer,
            "verifier": "qa",
            "task": "asearcher",
            "source": self.source,
            "qa": qa,
        }
        return Candidate(seed, index, prompt, output, problem=problem, meta=meta)

    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        states = []
        for c in candidates:
            doc: Doc = c.seed.data["doc"]
            states.append(
                QaState(
                    c.problem["qa"],
                    [c.problem["qa"].statement],
                    [Entity(doc.doc_id, doc.title)],
                    {doc.doc_id},
                    # other names of the title; a phrase the policy chose has none
                    aliases=() if self.base_qa.grounds else doc.other_names(),
                )
            )
        judge, judged_by = None, "the policy"
        if self.settings.judge == "checker":
            judge, chosen = independent_engine(self.config, service)
            judged_by = chosen.name if judge is not None else judged_by
        agent = Agent(
            service,
            self.settings,
            self.source,
            self._linked,
            seed=self.config.rollouts.seed,
            judge_engine=judge,
            names=self._names,
        )
        failed = agent.run(states)
        chosen = [_chosen(state, agent, i) for i, state in enumerate(states)]
        decisions = []
        for i, (candidate, state, reason) in enumerate(zip(candidates, states, failed, strict=True)):
            qa, statements, entities, measured, kept = chosen[i]
            meta: dict[str, Any] = {
                "turns": len({e["turn"] for e in state.edit_history}) - 1,
                "direct_gen_acc": state.accuracy,
                "qa_history": state.qa_history,
                "edit_history": state.edit_history,
                "statements": statements,
                "documents": [{"doc_id": e.doc_id, "title": e.title} for e in entities],
                "judges": agent.raw.get(i, []),
                "judged_by": judged_by,
            }
            if kept:  # an earlier QA of the history is the problem: what the final one was, for the audit
                assert measured is not None
                meta["kept"] = kept
                meta["direct_gen_acc"] = measured.correct / len(measured.grades)
                meta["final"] = {
                    "question": state.qa.question,
                    "statements": state.statements,
                    "documents": [e.title for e in state.entities],
                    "direct_gen_acc": state.accuracy,
                }
            if reason is not None:
                decisions.append(Decision(False, f"base QA {reason}", {**meta, "reward": 0.0}))
                continue
            candidate.problem.update(
                statement=qa.question,
                answer=qa.answer,
                extra={
                    "statements": statements,
                    "documents": [e.title for e in entities],
                    **({"aliases": list(state.aliases)} if state.aliases else {}),
                },
            )
            # the QA and its uniqueness rest on the judge's word (grounded in the documents, but judged);
            # the proposer is paid for a QA that passed every check (the official agent is not
            # trained; this is our reward for it), and only once its label is allowed
            decisions.append(
                Decision(
                    True,
                    None,
                    {**meta, "reward": 1.0},
                    measured,
                    provenance="judged",
                    checks={"base": "judged", "checks": []},
                )
            )
        self._check_labels(service, candidates, [(c[1], c[2]) for c in chosen], decisions)
        for i, (decision, (*_, measured, _)) in enumerate(zip(decisions, chosen, strict=True)):
            if decision.accepted and decision.provenance == "checked":
                problem = candidates[i].problem
                _band(decision, measured, self.settings, problem["statement"], problem["answer"])
        return decisions

    def _check_labels(
        self,
        service: RolloutService,
        candidates: list[Candidate],
        read: list[tuple[list[str], list[Entity]]],
        decisions: list[Decision],
    ) -> None:
        """The label checks for QA (``checks.qa``: the checker reads the QA's facts among its root's
        neighbours' and answers): its agreement makes the judged label ``checked``; its disagreement
        rejects the QA. The neighbours' facts go in ``method_meta.read_with``."""
        todo = [i for i, d in enumerate(decisions) if d.accepted]
        items = []
        for i in todo:
            problem = candidates[i].problem
            statements, entities = read[i]
            beside = neighbour_facts(
                [(d.doc_id, d.title, plain(d.text)) for d in self._linked(entities[0].doc_id)],
                {e.doc_id for e in entities},
                problem["answer"],
                self.settings.reading_distractors,
                problem["statement"],
            )
            decisions[i].meta["read_with"] = beside
            facts = shuffled(statements + beside, problem["statement"])
            aliases = problem.get("extra", {}).get("aliases", [])
            items.append(
                LabelItem(
                    problem["statement"], problem["answer"], "qa", "qa", {"statements": facts, "aliases": aliases}
                )
            )
        for i, (provenance, reason, record) in zip(
            todo, checked(self.config, service, "qa", items, "judged"), strict=True
        ):
            decision = decisions[i]
            decision.checks = record
            if provenance is None:
                decision.accepted, decision.reason = False, reason
            else:
                decision.provenance = provenance

    def _linked(self, doc_id: str) -> list[Doc]:
        """Documents linked to ``doc_id`` either way (out-links and in-links), stable order."""
        rows = self._warehouse.arrow(
            "SELECT DISTINCT d.doc_id, d.title, d.text FROM links l JOIN documents d "
            "ON d.doc_id = CASE WHEN l.src_id = ? THEN l.dst_id ELSE l.src_id END "
            "WHERE (l.src_id = ? OR l.dst_id = ?) AND l.dst_id IS NOT NULL AND l.src_id <> l.dst_id ORDER BY d.doc_id",
            [doc_id, doc_id, doc_id],
        ).to_pylist()
        return [Doc(**r) for r in rows]

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {"root": candidate.seed.key}
