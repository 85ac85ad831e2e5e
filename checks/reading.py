"""Reading: a checker model reads the facts a QA was built from (its supporting statements, from
the corpus) and answers the question, never seeing the label; the label stands if at least
``min_agree`` of its answers are the label (the qa verifier's match), and falls if as many agree on
another answer. Like the program of thought, its agreement counts only from a checker of other
weights than the policy's: the policy reading its own facts agrees with itself."""

from __future__ import annotations

from collections import Counter

from checks.addressed import addresses_the_checker
from checks.base import LabelItem, Verdict, abstain
from engines.base import Engine
from schemas.config import ProgramOfThoughtConfig
from schemas.engine import SamplingParams
from verifiers.qa import extract_qa_answer, names_answer, normalize

NAME = "reading"
PROMPT = (
    "Facts:\n{facts}\n\nAnswer the question from the facts alone, with a short phrase (at most a few words) and "
    "nothing else.\nQuestion: {question}\nAnswer:"
)
MAX_TOKENS = 24  # a short phrase


class ReadingCheck:
    name = NAME
    applies_to = ("qa",)

    def __init__(
        self,
        engine: Engine,
        settings: ProgramOfThoughtConfig,
        seed: int = 0,
        independent: bool = True,
        relation: str = "another model",
    ) -> None:
        self.engine, self.settings, self.seed = engine, settings, seed
        self.independent, self.relation = independent, relation

    def check(self, items: list[LabelItem]) -> list[Verdict]:
        if not items:
            return []
        verdicts: list[Verdict] = [abstain(NAME, "no label or no facts to read") for _ in items]
        todo = []
        for i, item in enumerate(items):
            if (why := addresses_the_checker(item.statement)) is not None:
                verdicts[i] = abstain(NAME, why)  # the reader would obey it
            elif item.label and item.evidence.get("statements"):
                todo.append(i)
        if not todo:
            return verdicts
        chats = [
            [
                {
                    "role": "user",
                    "content": PROMPT.format(
                        facts="\n".join(f"- {s}" for s in items[i].evidence["statements"]),
                        question=items[i].statement,
                    ),
                }
            ]
            for i in todo
        ]
        cfg = self.settings
        params = SamplingParams(
            n=cfg.samples, temperature=cfg.temperature, max_tokens=MAX_TOKENS, seed=self.seed, stop=("\n",)
        )
        for i, group in zip(todo, self.engine.generate(chats, params), strict=True):
            answers = [extract_qa_answer(c.text) for c in group]
            verdicts[i] = self._verdict(items[i], [a for a in answers if a], len(group))
        return verdicts

    def _verdict(self, item: LabelItem, answers: list[str], samples: int) -> Verdict:
        assert item.label is not None
        aliases = item.evidence.get("aliases", ())  # the label's other names (its dictionary entry's)
        right = sum(names_answer(a, item.label, aliases) for a in answers)
        # ``right`` of ``samples``: a unanimous reading is what an unanswered QA needs (synth.asearcher)
        detail = {"answers": answers, "checker": self.relation, "right": right, "samples": samples}
        others = Counter(normalize(a) for a in answers if not names_answer(a, item.label, aliases))
        other, count = others.most_common(1)[0] if others else (None, 0)
        if right >= self.settings.min_agree:
            if not self.independent:
                return abstain(NAME, f"{right} readings give the label, but the checker is {self.relation}", **detail)
            return Verdict(NAME, "agree", f"{right} of {len(answers)} readings give the label", detail)
        if count >= self.settings.min_agree:
            return Verdict(NAME, "disagree", f"{count} readings answer '{other}', not the label", detail)
        return abstain(NAME, f"the readings do not agree: {', '.join(answers) or 'none'}", **detail)
