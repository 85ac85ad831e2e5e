"""ASearcher inject/fuzz QA synthesis: the pure pieces table-driven, the whole agent loop with a
scripted engine over a small real dictd corpus (every rejection path of the base QA and of a
turn), and a run on the real bundled model over Debian's FOLDOC."""

import json

import pytest

from ingest.service import ingest_corpus
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from synth import rewards
from synth.asearcher.algorithm import (
    QA,
    Entity,
    QaState,
    base_title_qa_prompt,
    direct_gen_acc,
    fields,
    find_entity,
    grounded,
    last_json_object,
    parse_action,
    parse_qa,
    parse_title_qa,
    uniqueness,
    unsupported_names,
    wrong_answers,
    yes_no,
)
from synth.asearcher.method import AsearcherSynthesizer
from synth.runner import run_method
from tests.conftest import ScriptedEngine
from tests.test_corpus import TINY, write_dictd
from verifiers import VerifierSet
from warehouse.db import Warehouse

POLICY = "p" * 32


@pytest.mark.parametrize(
    ("text", "obj"),
    [
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('first {"a": 1} then {"b": 2}', {"b": 2}),
        ('```json\n{broken\n```\n{"c": 3}', {"c": 3}),
        ("no json [1, 2]", None),
    ],
)
def test_last_json_object(text, obj):
    assert last_json_object(text) == obj


def test_fields_from_json_or_labelled_lines():
    assert fields('{"question": "Q?", "answer": 42}') == {"question": "Q?", "answer": "42"}
    assert fields("Question: Q?\n**Answer:** A\nanswer: B") == {"question": "Q?", "answer": "B"}


@pytest.mark.parametrize(
    ("text", "need", "result"),
    [
        (
            '{"question": "Who wrote it?", "answer": "Guido", "statement": "Guido wrote it."}',
            True,
            QA("Who wrote it?", "Guido", "Guido wrote it."),
        ),
        ('{"question": "Who wrote it?", "answer": "Guido"}', True, "unparsable: no supporting statement"),
        ('{"question": "Who wrote it?", "answer": "Guido"}', False, QA("Who wrote it?", "Guido")),
        (
            '{"question": "Did Guido write it?", "answer": "Guido", "statement": "s"}',
            True,
            "invalid: the question states its answer",
        ),
        ('{"question": "Q?", "answer": "' + "word " * 13 + '"}', False, "unparsable: the answer has over 12 words"),
        ("nothing", True, "unparsable: no question and answer"),
        # the prompt's <placeholder> brackets kept around the values (a 0.5B coder): taken off
        (
            "Answer: <Guido>\nQuestion: <Who wrote it?>\nStatement: <Guido wrote it.",
            True,
            QA("Who wrote it?", "Guido", "Guido wrote it."),
        ),
        # attack: taking the brackets off does not let a question that states its answer through
        ("Answer: <Guido>\nQuestion: <Did Guido write it?>\nStatement: s", True, "invalid: the question states"),
        ("Answer: <a <b> c>\nQuestion: Which?\nStatement: s", True, QA("Which?", "<a <b> c>", "s")),
        ("Question: The first string language is (the new question)\nAnswer: COMIT", False, "unparsable: the prompt's"),
        # attack (red team): a lone bracket is part of the answer, "<1%" is not "1%", nor "5>" 5
        ("Answer: <1%\nQuestion: What share?\nStatement: s", True, QA("What share?", "<1%", "s")),
        ("Answer: 5>\nQuestion: How many?\nStatement: s", True, QA("How many?", "5>", "s")),
        ('{"question": "What share?", "answer": "<1%", "statement": "s"}', True, QA("What share?", "<1%", "s")),
    ],
)
def test_parse_qa(text, need, result):
    got = parse_qa(text, need_statement=need)
    assert got == result or (isinstance(result, str) and str(got).startswith(result))


@pytest.mark.parametrize(
    ("text", "result"),
    [
        (
            "Question: Which term refers to the version of Unix running on Hewlett-Packard workstations?\nStatement: s",
            QA("Which term refers to the version of Unix running on Hewlett-Packard workstations?", "HP-UX", "s"),
        ),
        # a bare question line, and the answer written out when it is the title
        (
            "Which version of Unix runs on Hewlett-Packard workstations?",
            QA("Which version of Unix runs on Hewlett-Packard workstations?", "HP-UX"),
        ),
        (
            "Question: Which Unix runs on HP workstations?\nAnswer: hp-ux",
            QA("Which Unix runs on HP workstations?", "HP-UX"),
        ),
        # attacks: another answer than the title, the title in the question, no question at all
        ("Question: Which standard does it follow?\nAnswer: POSIX", "invalid: the answer is 'POSIX'"),
        ("Question: What version of Unix is HP-UX?", "invalid: the question states its answer"),
        ("HP-UX is a Unix.", "unparsable: no question"),
        ("Question: Which is it?\nAnswer: HP-UX, or maybe Linux", "invalid: the answer is"),
        # the title in quotes is still the title (a 0.5B's '... described as "impact printer" ...')
        ('Question: Which system is described as "HP-UX" by Hewlett-Packard?', "invalid: the question states"),
        # the prompt's placeholder is no question (a fuzz turn kept "... is (the new question)")
        ("Question: The Unix of HP workstations is (the new question)", "unparsable: the prompt's placeholder"),
        # the prompt hides the title behind [TERM]: a question that asks about the mask names nothing
        ("Question: What is [TERM]?", "invalid: the question names the hidden term"),
        ("Question: Which Unix is the [term] of HP workstations?", "invalid: the question names the hidden term"),
    ],
)
def test_parse_title_qa(text, result):
    """``base_answer = "title"``: the base QA's answer is the root's title (a dictionary's entry), the
    policy writes the question from the document without naming it."""
    got = parse_title_qa(text, "HP-UX")
    assert got == result or (isinstance(result, str) and str(got).startswith(result)), got


def test_the_title_qa_prompt_hides_the_title():
    """A policy that never reads the title cannot copy it into its question (a 0.5B named the
    title in 18 of 32 base QAs when it was shown); the document's words stay, the title's
    mentions (any case, and the header) become [TERM]."""
    text = "HP-UX: The version of Unix running on Hewlett-Packard workstations. hp-ux conforms to POSIX."
    prompt = base_title_qa_prompt("HP-UX", text)
    assert "hp-ux" not in prompt.casefold()
    assert "[TERM]: The version of Unix running on Hewlett-Packard workstations." in prompt
    assert "[TERM] conforms to POSIX." in prompt
    # a title that is a common word is masked as a word, not inside other words
    assert "Cobra" in base_title_qa_prompt("C", "C: A language. Cobra is not C.") and "[TERM]" in base_title_qa_prompt(
        "C", "C: A language."
    )


def test_an_edit_names_nothing_the_facts_do_not_hold():
    """A fuzz blurs, it adds nothing: the 1.5B's "... and is more recent than Mac OS X" (false of
    HP-UX) is refused; a blurred detail, the facts' own names and a sentence's first word pass."""
    facts = [
        "HP-UX conforms to X/Open's Portability Guide Issue 4 (XPG4), Federal Information Processing "
        "Specification (FIPS) 151.1, POSIX 1003.1."
    ]
    before = "Which operating system conforms to X/Open's Portability Guide Issue 4 and FIPS 151.1?"
    added = "Which operating system conforms to X/Open's Portability Guide Issue 4 and FIPS 151.1 and is more recent than Mac OS X?"
    assert unsupported_names(added, [before, *facts]) == ["Mac", "OS", "X"]
    assert (
        unsupported_names("Which system conforms to a portability guide and a FIPS standard?", [before, *facts]) == []
    )
    assert unsupported_names("Which system follows POSIX 1003.1 of 1988?", [before, *facts]) == ["1988"]
    assert unsupported_names("Name it. Which Unix is it?", ["Unix"]) == []
    # the parts of a compound the facts hold are held ("1957-8": a 0.5B's base QA, 2026-12-07);
    # a number the compound does not hold is still new
    comit = ["COMIT: The first string-handling and pattern-matching language, designed in 1957-8."]
    assert unsupported_names("Which language was developed in 1957-8?", comit) == []
    assert unsupported_names("Which language was developed in 1957 and 1958?", comit) == ["1958"]
    assert unsupported_names("Which language was developed in 1957-9?", comit) == ["9"]


def test_a_name_the_document_holds_in_another_spelling_is_held():
    """A 0.5B's base QAs (2026-12-07) were refused for names their document holds: a possessive
    ("NetWare's"), a name before a possessive or inside quotes ("Novell, Inc.'s", 'known as
    "HP-SUX".'). A name the document does not hold is still refused, possessive or not."""
    netware = ["NetWare <operating system> Novell, Inc.'s proprietary networking operating system for the IBM PC."]
    assert unsupported_names("What is the name of NetWare's networking operating system?", netware) == []
    assert unsupported_names("Which system did Novell, Inc. sell for the IBM PC?", netware) == []
    assert unsupported_names("What is Novell's operating system for the IBM PC?", netware) == []
    hpux = ['HP-UX is the version of Unix on Hewlett-Packard workstations. It is known by some as "HP-SUX".']
    assert unsupported_names("What does the HP-SUX nickname mock?", hpux) == []
    assert unsupported_names("Which system did Microsoft's rival sell?", netware) == ["Microsoft"]
    assert unsupported_names("What is Apple's operating system for the IBM PC?", netware) == ["Apple"]
    # a red team's false positives (2026-12-07): a closing quote, another apostrophe, an acronym's plural
    assert unsupported_names("Which system is the 'networking operating system'?", netware) == []
    assert unsupported_names("What is Novell\u02bcs system for the IBM PC?", netware) == []
    assert unsupported_names("Which system ran on IBM PCs?", netware) == []
    assert unsupported_names("Which Unix was made in the U.S.?", ["HP-UX: a Unix made in the U.S."]) == []


@pytest.mark.parametrize(
    ("text", "ready", "result"),
    [
        ('{"action": "inject", "entity": "Python"}', False, ("inject", "Python")),
        ('{"action": "SELECT", "entity": "Python"}', False, ("inject", "Python")),
        ('{"action": "fuzz"}', False, ("fuzz", None)),
        ('{"action": "exit"}', False, "invalid: exit is offered only"),
        ('{"action": "exit"}', True, ("exit", None)),
        ('{"action": "brainstorm"}', True, "unparsable"),
    ],
)
def test_parse_action(text, ready, result):
    parsed = parse_action(text, ready)
    assert parsed == result if isinstance(result, tuple) else parsed.startswith(result)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [("Yes.", True), ("no, because", False), ("<answer>yes</answer>", True), ("Maybe yes", None), ("", None)],
)
def test_yes_no(text, verdict):
    assert yes_no(text) is verdict


def test_difficulty_and_uniqueness_decisions():
    assert direct_gen_acc([True, False, False, False]) == 0.25 and direct_gen_acc([]) == 0.0
    assert wrong_answers(["Guido", "Larry Wall", "larry wall!", None, "Guido"], [True, False, False, False, True]) == [
        "Larry Wall"
    ]
    assert uniqueness([False, False]) == (True, None)
    assert uniqueness([]) == (True, None)
    assert uniqueness([False, True])[0] is False
    assert uniqueness([None])[1].startswith("not unique: a judge's verdict")


@pytest.mark.parametrize(
    ("answer", "ok"),
    [("Bell Labs", True), ("bell labs.", True), ("Bell", True), ("Labs Inc", False), ("", False), ("ell", False)],
)
def test_grounded_in_the_document(answer, ok):
    assert grounded(answer, "Unix was made at Bell Labs in 1969.") is ok


def test_state_commit_and_reject():
    state = QaState(QA("q0", "a"), ["s0"], [Entity("d0", "Python")], {"d0"})
    state.reject(1, "fuzz", "answer changed")
    state.commit(2, "inject", QA("q1", "a"), 0.0, "s1", Entity("d1", "ABC"))
    assert state.qa.question == "q1" and state.statements == ["s0", "s1"] and state.used == {"d0", "d1"}
    assert state.ready_to_exit and [e["accepted"] for e in state.edit_history] == [False, True]
    assert find_entity(state.entities, "abc").doc_id == "d1" and find_entity(state.entities, "Perl") is None


BASE = {
    "Python": {
        "question": "Who invented the language that combines ideas from ABC and Icon?",
        "answer": "Guido van Rossum",
        "statement": "Python was invented by Guido van Rossum in 1991.",
    },
    "ABC": {"question": "Where was ABC designed?", "answer": "CWI", "statement": "ABC was designed at CWI."},
}
COMPOSED = "Who invented the language that combines ideas from ABC and the Arizona string language?"


class Script:
    """The agent's and the solvers' replies, by prompt; the agent's choices in turn order."""

    def __init__(self, base_solved: bool = True):
        self.base_solved = base_solved
        self.actions = iter(
            [
                {"action": "exit"},  # turn 1: not offered yet
                {"action": "inject", "entity": "Perl"},  # 2: not a relevant entity
                {"action": "inject", "entity": "Python"},  # 3: the link QA names another answer
                {"action": "inject", "entity": "Python"},  # 4: the new fact is already known
                {"action": "inject", "entity": "Python"},  # 5: composing changed the answer
                {"action": "inject", "entity": "Python"},  # 6: accepted, no solver right: exit offered
                {"action": "fuzz"},  # 7: the answer changed
                {"action": "exit"},  # 8: done
            ]
        )
        self.link_answers = iter(["Perl", "Python", "Python", "Python"])
        self.coverage = iter(["yes", "no", "no"])
        self.composed = iter(
            [{"question": "Who made it?", "answer": "Larry Wall"}, {"question": COMPOSED, "answer": "Guido van Rossum"}]
        )

    def __call__(self, chat, n):
        content = chat[0]["content"]
        if "Pick a short phrase from this document" in content:
            title = content.split("\n", 1)[0].removeprefix("Document: ")
            return [json.dumps(BASE[title])] if title in BASE else ["I like this document."]
        if "Is this a single question" in content:
            return ["No." if "Where was ABC designed" in content else "Yes."]
        if "<answer></answer>" in content:  # the solvers (qa instruction)
            if "Where was ABC" in content:
                return ["<answer>Amsterdam</answer>"] * n
            if COMPOSED in content or not self.base_solved:
                return ["<answer>Larry Wall</answer>"] * n
            return (["<answer>Guido van Rossum</answer>", "<answer>Larry Wall</answer>"] * n)[:n]
        if "Does the other answer also satisfy" in content:
            return ["no"]
        if "Make the question harder" in content:
            return [json.dumps(next(self.actions))]
        if "Write one question whose answer is exactly" in content:
            return [
                json.dumps(
                    {
                        "question": "Which language did ABC inspire?",
                        "answer": next(self.link_answers),
                        # the linked document's first sentence (a statement must be one of its sentences)
                        "statement": content.split("\n")[1].split(". ")[0],
                    }
                )
            ]
        if "Is the new fact already stated" in content:
            return [next(self.coverage)]
        if "replace the mention of" in content:
            return [json.dumps(next(self.composed))]
        if "Rewrite the question so that one detail" in content:
            return [json.dumps({"question": "Who made the snake language?", "answer": "Someone"})]
        if "Answer the question from the facts alone" in content:  # the reading check
            return ["Guido van Rossum"] * n
        raise AssertionError(content)


def test_the_agent_loop_with_exact_outputs(tmp_path, warehouse, scripted_checker):
    ingest_corpus(warehouse, str(write_dictd(tmp_path, "tiny", TINY)))
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    azr = cfg.synth.asearcher
    azr.corpus, azr.topic, azr.max_turns = "tiny", "Guido van Rossum language", 10
    azr.base_answer, azr.proposals = "phrase", 1  # the official base QA: a phrase the policy picks
    azr.judge = "policy"  # the script's judges
    # its label rests on the (policy's) judges: by default that is a candidate, not a label
    strict = Warehouse(tmp_path / "default")
    strict.init()
    ingest_corpus(strict, str(write_dictd(tmp_path, "tiny", TINY)))
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(Script()), verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(AsearcherSynthesizer(cfg), strict, service, limit=1)
    assert (report.seeds, report.accepted) == (1, 0)
    (reason,) = strict.arrow("SELECT reason FROM synth_attempts").column("reason").to_pylist()
    # the policy reading its own QA's facts agrees with itself: the reading check abstains
    assert reason == "unverified label: its provenance is judged and synth.min_label_provenance is checked"
    cfg.synth.min_label_provenance = "judged"  # a user who accepts judged labels
    policy = ScriptedEngine(Script())
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(policy, verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(AsearcherSynthesizer(cfg), warehouse, service, limit=1)
    assert (report.seeds, report.accepted) == (1, 1)

    # the judges read greedily (synth.asearcher.judge_temperature); the agent's edits are sampled
    def temperatures(*asks: str) -> set[float]:
        asked = [(chat[0]["content"], p.temperature) for prompts, p in policy.calls for chat in prompts]
        return {t for content, t in asked if content.startswith(asks) and "from the facts alone" not in content}

    assert temperatures("Facts:", "Known facts:") == {0.0}  # validity, uniqueness, coverage (not the reading check)
    assert temperatures("Question:") == {azr.temperature}  # the action and the fuzz
    problem = warehouse.arrow("SELECT * FROM problems").to_pylist()[0]
    assert problem["label_provenance"] == "judged"
    # no solver answered the final (composed) QA: the problem is the last QA of the history in the
    # policy's band, the base QA (4 of 8), with the facts and the rollouts it had then
    assert (problem["statement"], problem["answer"], problem["domain"], problem["verifier"], problem["source"]) == (
        BASE["Python"]["question"],
        "Guido van Rossum",
        "qa",
        "qa",
        "asearcher:tiny",
    )
    meta = json.loads(problem["method_meta"])
    assert meta["kept"] == "the last in-band QA (turn 0): the final one was 0/8 for the policy"
    assert meta["statements"] == ["Python: A language invented by Guido van Rossum in 1991."]
    assert [d["title"] for d in meta["documents"]] == ["Python"]
    edits = [(e["turn"], e["action"], e["accepted"], e.get("reason", "")[:28]) for e in meta["edit_history"]]
    assert edits == [
        (0, "base", True, ""),
        (1, "choose", False, "invalid: exit is offered onl"),
        (2, "inject", False, "invalid: 'Perl' is not one o"),
        (3, "inject", False, "link QA answers 'Perl', not "),
        (4, "inject", False, "covered: the new fact is alr"),
        (5, "inject", False, "compose answer changed: 'Lar"),
        (6, "inject", True, ""),
        (7, "fuzz", False, "answer changed: 'Someone' in"),
        (8, "exit", True, ""),
    ]
    assert [q["direct_gen_acc"] for q in meta["qa_history"]] == [0.5, 0.0]
    # the facts are the documents' sentences after their titles, never the policy's wording of them
    assert meta["final"] == {
        "question": COMPOSED,
        "statements": [
            "Python: A language invented by Guido van Rossum in 1991.",
            "Icon: A string processing language from the University of Arizona.",  # the linked document
        ],
        "documents": ["Python", "Icon"],
        "direct_gen_acc": 0.0,
    }
    assert {j["judge"] for j in meta["judges"]} == {"validity", "uniqueness", "coverage"}
    # each uniqueness verdict names the other answer it was about (the solvers' wrong "Larry Wall")
    assert {j.get("about") for j in meta["judges"] if j["judge"] == "uniqueness"} == {"Larry Wall"}
    # the stored rollouts are those of the kept QA: 4 of 8 solvers got it
    assert warehouse.arrow("SELECT n, c FROM difficulty").to_pylist() == [{"n": 8, "c": 4}]  # under the acceptance key
    # an independent checker that reads the facts and gives the label makes it checked, by default
    cfg.synth.min_label_provenance = "checked"
    reader = scripted_checker(lambda chat, n: ["Guido van Rossum"] * n)
    checked_warehouse = Warehouse(tmp_path / "checked")
    checked_warehouse.init()
    ingest_corpus(checked_warehouse, str(write_dictd(tmp_path, "tiny", TINY)))
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(Script()), verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(AsearcherSynthesizer(cfg), checked_warehouse, service, limit=1)
    # ... the base QA, in band, read against its own fact (not the final QA's facts) among the facts
    # of its root's neighbours, which the attempt records
    assert report.accepted == 1 and reader.calls
    (meta,) = checked_warehouse.arrow("SELECT meta FROM synth_attempts WHERE accepted").column("meta").to_pylist()
    beside = json.loads(meta)["read_with"]
    assert sorted(beside) == [
        "ABC: An imperative language designed at CWI; it inspired Python and replaced BASIC in teaching.",
        "Icon: A string processing language from the University of Arizona.",
        "Unix: An operating system from Bell Labs.",
    ]
    ((prompts, _),) = reader.calls
    facts = prompts[0][0]["content"].split("Facts:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    own = "Python: A language invented by Guido van Rossum in 1991."  # the corpus's sentence, titled
    assert sorted(facts) == sorted(f"- {f}" for f in [own, *beside])
    (row,) = checked_warehouse.arrow("SELECT statement, label_provenance FROM problems").to_pylist()
    assert row == {"statement": BASE["Python"]["question"], "label_provenance": "checked"}
    # with no in-band QA in the history (the base QA too went unanswered), a checked QA that no
    # solver answered is not kept (``keep_unanswered`` is off; tests/test_asearcher_attacks.py has
    # what it takes when it is on: three distinct wrong answers, a unanimous reading, no "not")
    unsolved = Warehouse(tmp_path / "unsolved")
    unsolved.init()
    ingest_corpus(unsolved, str(write_dictd(tmp_path, "tiny", TINY)))
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(Script(base_solved=False)), verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(AsearcherSynthesizer(cfg), unsolved, service, limit=1)
    assert report.accepted == 0
    (row,) = unsolved.arrow("SELECT reason, reward FROM synth_attempts").to_pylist()
    assert row["reason"] == "unsolvable for the policy: none of 8 solutions is right"
    assert row["reward"] == rewards.NOT_LEARNABLE


def test_base_qa_rejections(tmp_path, warehouse):
    ingest_corpus(warehouse, str(write_dictd(tmp_path, "tiny", TINY)))
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.asearcher.corpus, cfg.synth.asearcher.max_turns = "tiny", 0
    cfg.synth.asearcher.base_answer, cfg.synth.asearcher.proposals = "phrase", 1

    def script(chat, n):
        content = chat[0]["content"]
        if "Pick a short phrase from this document" in content and "Document: ABC" in content:
            return [json.dumps(BASE["ABC"])]
        if "Does the other answer also satisfy" in content:
            return ["yes"]  # Larry Wall is judged also right: not unique
        return Script()(chat, n)

    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(AsearcherSynthesizer(cfg), warehouse, service, limit=10)
    # roots: the linked documents (Python, ABC)
    assert (report.seeds, report.accepted) == (2, 0)
    reasons = sorted(warehouse.arrow("SELECT reason FROM synth_attempts").column("reason").to_pylist())
    assert reasons == [
        "base QA invalid: the validity judge said no",
        "base QA not unique: a wrong answer was judged also correct",
    ]


def test_roots_are_taken_most_cited_first(tmp_path, warehouse):
    """``roots = "cited"`` (the default): the documents most others link to come first (a small policy can answer
    a question about "Unix", not about a hash's obscure first entries); each linked document once."""
    cited = {**TINY, "Icon\n\n   A string processing language, a successor of {ABC}.\n": ["icon"]}
    del cited["Icon\n\n   A string processing language from the University of Arizona.\n"]
    ingest_corpus(warehouse, str(write_dictd(tmp_path, "tiny", cited)))
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.asearcher.corpus, cfg.synth.asearcher.roots = "tiny", "random"
    by_hash = [s.data["doc"].title for s in AsearcherSynthesizer(cfg).seeds(warehouse, POLICY)]
    cfg.synth.asearcher.roots = "cited"  # the default
    by_citations = [s.data["doc"].title for s in AsearcherSynthesizer(cfg).seeds(warehouse, POLICY)]
    # ABC is linked from Python and Icon; Python and Icon from one each; Unix and BASIC link nowhere
    assert by_hash[0] != "ABC" and by_citations[0] == "ABC"
    assert sorted(by_citations) == sorted(by_hash) == ["ABC", "Icon", "Python"]


def test_a_base_qa_that_asks_for_the_title(tmp_path, warehouse, scripted_checker):
    """The default base QA (``base_answer = "title"``): the policy asks for the root's title from
    its document; the label is the title, the fact read is the document's sentence after the title,
    and a reader that gives the title makes it checked. A reply naming another answer is rejected."""
    ingest_corpus(warehouse, str(write_dictd(tmp_path, "tiny", TINY)))
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.asearcher.corpus, cfg.synth.asearcher.max_turns, cfg.synth.asearcher.proposals = "tiny", 0, 2
    cfg.synth.asearcher.topic, cfg.synth.asearcher.topic_roots = "Guido van Rossum", 1
    assert cfg.synth.asearcher.base_answer == "title"

    def script(chat, n):  # the policy: proposes and solves, never judges (judge = "checker")
        content = chat[0]["content"]
        if content.startswith("Document: [TERM]") and "invented by Guido van Rossum" in content:  # Python's
            return ["Question: Which language did Guido van Rossum invent in 1991?", "Question: Which?\nAnswer: ABC"]
        if "<answer></answer>" in content:
            return ["<answer>Python</answer>", "<answer>ABC</answer>"] * (n // 2)
        raise AssertionError(content)

    def checker(chat, n):  # judges, then reads the facts
        content = chat[0]["content"]
        if "Is this a single question" in content:
            return ["Yes."]
        if "Does the other answer also satisfy" in content:
            return ["No."]
        return ["Python"] * n

    reader = scripted_checker(checker)
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(AsearcherSynthesizer(cfg), warehouse, service, limit=1)
    assert (report.candidates, report.accepted) == (2, 1)
    reasons = warehouse.arrow("SELECT reason FROM synth_attempts WHERE NOT accepted").column("reason").to_pylist()
    assert reasons == ["base QA invalid: the answer is 'ABC', not the document's title 'Python'"]
    (row,) = warehouse.arrow("SELECT statement, answer, label_provenance FROM problems").to_pylist()
    assert (row["statement"], row["answer"], row["label_provenance"]) == (
        "Which language did Guido van Rossum invent in 1991?",
        "Python",
        "checked",
    )
    facts = reader.calls[-1][0][0][0]["content"]
    assert "- Python: A language invented by Guido van Rossum in 1991." in facts and "Answer: Python" not in facts
    judged = json.loads(warehouse.scalar("SELECT meta FROM synth_attempts WHERE accepted"))
    assert judged["judged_by"] == "scripted" and {j["judge"] for j in judged["judges"]} == {"validity", "uniqueness"}


def test_asearcher_on_the_real_model(real_config, data_dir):
    from engines.bundled import resolve_model
    from engines.hf import TransformersEngine
    from rollouts.policies import resolve_policy
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    warehouse.init()
    ingest_corpus(warehouse, "foldoc")
    policy = resolve_policy(warehouse, real_config)
    real_config.synth.asearcher.max_turns = 2
    real_config.synth.asearcher.proposals = 2
    engine = TransformersEngine(resolve_model(policy.model_path, real_config.models_dir), batch_size=64)
    with VerifierSet(real_config) as verifiers:
        service = RolloutService(engine, verifiers, real_config.rollouts, policy.policy_id, "real")
        report = run_method(AsearcherSynthesizer(real_config), warehouse, service, limit=2)
    assert (report.seeds, report.candidates) == (2, 4)
    attempts = warehouse.arrow("SELECT accepted, reason, output FROM synth_attempts").to_pylist()
    assert len(attempts) == 4 and all(a["output"] for a in attempts)
    assert all(a["accepted"] or a["reason"] for a in attempts)
    print(json.dumps(report.as_dict()))


# Python's entry names "PyL" in its opening parentheses (another name of it) and files "Monty"
# under it too, which the entry never says is Python (FOLDOC files "nb" under C so)
ALIASED = {
    **{k: v for k, v in TINY.items() if not k.startswith("Python")},
    "Python\n\n   <language> (PyL) A language invented by Guido van Rossum in 1991; PyL runs it.  It\n"
    "   combines ideas from {ABC}.\n": ["python", "pyl", "monty"],
}


def test_an_entry_s_other_names_are_its_initials_or_what_it_opens_with():
    from warehouse.corpus import Doc

    def names(title, text, headwords):
        return Doc("d", title, text, "\n".join(headwords)).other_names()

    assert names(
        "International Business Machines",
        "big blue\nIBM\n\n   <company> (IBM) The best known",
        ["big blue", "ibm", "international business machines"],
    ) == ("ibm",)  # initials; a nickname is not said
    assert names("C", "NB\n\n   <language> A programming language designed by Dennis Ritchie", ["c", "nb"]) == ()
    assert names(
        "central processing unit",
        "CPU\nprocessor\n\n   <architecture> (CPU, processor) The part",
        ["central processing unit", "cpu", "processor"],
    ) == ("cpu", "processor")
    assert names("emoticon", ':-)\nsmiley\n\n   <chat> (Or "smiley") A sequence', [":-)", "smiley"]) == ("smiley",)
    assert names(
        "Partial Differential Equation LANguage", "PDELAN\n\n   (PDELAN)\n\n   [An Extension]", ["pdelan"]
    ) == ("pdelan",)


def _aliased_run(tmp_path, warehouse, scripted_checker, script, checker, **settings):
    ingest_corpus(warehouse, str(write_dictd(tmp_path, "tiny", ALIASED)))
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    a = cfg.synth.asearcher
    a.corpus, a.max_turns, a.proposals, a.topic, a.topic_roots = "tiny", 0, 2, "Guido van Rossum", 1
    for key, value in settings.items():
        setattr(a, key, value)
    scripted_checker(checker)
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "run")
        return cfg, run_method(AsearcherSynthesizer(cfg), warehouse, service, limit=1)


def _solvers(right: str, n: int) -> list[str]:
    return ([f"<answer>{right}</answer>", "<answer>Perl</answer>", "<answer>Python</answer>"] * n)[:n]


def _judge_no_read(answer):
    def checker(chat, n):
        content = chat[0]["content"]
        if "Is this a single question" in content:
            return ["Yes."]
        if "Does the other answer also satisfy" in content or "already stated" in content:
            return ["No."]
        return [answer] * n

    return checker


def test_the_title_s_other_names_are_hidden_refused_in_the_question_and_right_as_answers(
    tmp_path, warehouse, scripted_checker
):
    """A dictionary entry's other names ("IBM" for International Business Machines): the base
    prompt hides them as it hides the title, a question that names one states its answer, and a
    solver or reader that answers one is right: it is not another answer for the uniqueness judge
    (a 0.5B's "What is the best-known computer manufacturer known as Big Blue?" was refused as not
    unique because its solvers said "IBM"). The problem keeps them for every later grade."""
    prompts = []

    def script(chat, n):  # the policy: proposes and solves
        content = chat[0]["content"]
        if content.startswith("Document: [TERM]"):
            prompts.append(content)
            return ["Question: Which language did Guido van Rossum invent in 1991?", "Question: What does PyL run?"]
        if "<answer></answer>" in content:
            return _solvers("PyL", n)
        raise AssertionError(content)

    cfg, report = _aliased_run(tmp_path, warehouse, scripted_checker, script, _judge_no_read("PyL"))
    assert "PyL" not in prompts[0] and "[TERM] runs it" in prompts[0]
    assert (report.candidates, report.accepted) == (2, 1)
    refused = warehouse.arrow("SELECT reason FROM synth_attempts WHERE NOT accepted").column("reason").to_pylist()
    assert refused == ["base QA invalid: the question states its answer (pyl)"]
    (row,) = warehouse.arrow("SELECT answer, label_provenance, extra FROM problems").to_pylist()
    assert (row["answer"], row["label_provenance"]) == ("Python", "checked")
    assert json.loads(row["extra"])["aliases"] == ["pyl"]  # not "monty": the entry never says so
    meta = json.loads(warehouse.scalar("SELECT meta FROM synth_attempts WHERE accepted"))
    assert {j.get("about") for j in meta["judges"] if j["judge"] == "uniqueness"} == {"Perl"}
    right = warehouse.scalar("SELECT count(*) FILTER (WHERE correct) FROM rollouts")
    assert 0 < right < cfg.synth.asearcher.solvers  # PyL and Python right, Perl wrong: in band


def test_an_edit_that_names_another_name_of_the_answer_is_refused(tmp_path, warehouse, scripted_checker):
    """A red team's fuzz turn: "Which language, the one also called PyL, ...?" was kept and paid,
    its solvers copying PyL from the question. A fuzzed or injected question is read for the
    answer's other names as the base question is."""

    def script(chat, n):
        content = chat[0]["content"]
        if content.startswith("Document: [TERM]"):
            return ["Question: Which language did Guido van Rossum invent in 1991?"] * n
        if "Make the question harder" in content:
            return ["Action: fuzz"]
        if "Rewrite the question so that one detail" in content:
            return ["Question: Which language, the one also called P.y.L, did Guido van Rossum make?\nAnswer: Python"]
        if "<answer></answer>" in content:
            return _solvers("PyL" if "P.y.L" in content else "Python", n)
        raise AssertionError(content)

    _aliased_run(tmp_path, warehouse, scripted_checker, script, _judge_no_read("Python"), max_turns=1, proposals=1)
    history = json.loads(warehouse.scalar("SELECT meta FROM synth_attempts"))["edit_history"]
    fuzz = [e for e in history if e["action"] == "fuzz"]
    assert (
        fuzz and fuzz[0]["accepted"] is False and fuzz[0]["reason"] == "invalid: the question states its answer (pyl)"
    )
    assert "P.y.L" not in (warehouse.scalar("SELECT statement FROM problems") or "")


def test_a_phrase_label_has_no_other_names(tmp_path, warehouse, scripted_checker):
    """With ``base_answer = "phrase"`` the label is a phrase the policy picked ("Guido van Rossum"),
    not the title: the root's other names are no right answers for it (a red team's solvers and
    reader answered "PyL" and were right)."""

    def script(chat, n):
        content = chat[0]["content"]
        if "Pick a short phrase from this document" in content:
            return [
                "Answer: Guido van Rossum\nQuestion: Who invented the language Python in 1991?\n"
                "Statement: A language invented by Guido van Rossum in 1991."
            ] * n
        if "<answer></answer>" in content:
            return (["<answer>PyL</answer>", "<answer>Guido van Rossum</answer>"] * n)[:n]
        raise AssertionError(content)

    _aliased_run(
        tmp_path, warehouse, scripted_checker, script, _judge_no_read("PyL"), base_answer="phrase", proposals=1
    )
    assert warehouse.scalar("SELECT count(*) FROM problems") == 0
    graded = warehouse.arrow("SELECT extracted_answer, correct FROM rollouts").to_pylist()
    assert all(not r["correct"] for r in graded if r["extracted_answer"] == "PyL")
