import json

import pytest

from filters.decontam import BenchmarkIndex, decontaminate, ngrams
from filters.dedup import exact_dedup, near_dedup, shingles
from filters.runner import run_filters
from filters.validity import check_validity
from ingest.service import ingest
from schemas.config import FilterConfig, HardforgeConfig


def P(pid, statement, answer="1", domain="math", verifier=None):
    return {
        "problem_id": pid,
        "statement": statement,
        "answer": answer,
        "domain": domain,
        "verifier": verifier or domain,
    }


def test_validity_table():
    problems = [
        P("a", "What is one plus one, exactly?", "2"),
        P("b", "Short?"),
        P("c", "x" * 50, "\\frac{1}{2}"),
        P("d", "def f(x):\n    '''doc'''\n", "assert f(1) == 1", "code"),
        P("e", "def f(x):\n    '''doc'''\n", "assert f(1 == 1", "code"),
        P("f", "Who wrote the long novel?", "  ", "qa"),
        P("g", "y" * 101),
    ]
    verdicts = check_validity(
        problems, FilterConfig(max_statement_chars=100), lambda answers: [a != "\\frac{1}{2}" for a in answers]
    )
    assert [v.keep for v in verdicts] == [True, False, False, True, False, False, False]
    assert verdicts[1].reason.startswith("statement too short")
    assert verdicts[2].reason == "answer does not parse as math"
    assert verdicts[4].reason.startswith("invalid code problem: tests do not parse")
    assert verdicts[5].reason == "empty answer"
    assert verdicts[6].reason.startswith("statement too long")


def test_exact_dedup_keeps_the_first():
    verdicts = exact_dedup(
        [
            P("a", "What is  2+2?"),
            P("b", "what is 2+2?", "5"),
            P("c", "What is 2+3?"),
            P("d", "What is 2+2?", domain="qa"),
        ]
    )
    assert [v.keep for v in verdicts] == [True, False, True, True]
    assert verdicts[1].reason == "exact duplicate of a"


def test_near_dedup_finds_light_edits_only():
    base = "Let n be a positive integer such that the sum of its digits equals twenty and n is divisible by eleven. Find the smallest such n."
    edited = base.replace("smallest", "least")
    other = "A triangle has sides of length seven, eight and nine. Compute the radius of its inscribed circle exactly."
    verdicts = near_dedup([P("a", base), P("b", edited), P("c", other), P("d", base, domain="qa")], 0.7, 128, 3)
    assert [v.keep for v in verdicts] == [True, False, True, True]
    assert verdicts[1].detail["duplicate_of"] == "a" and verdicts[1].detail["jaccard"] >= 0.7


def test_shingles_short_text():
    assert shingles("a b", 5) == [b"a b"]
    assert len(shingles("one two three four five six", 5)) == 2


def test_decontamination_records_the_benchmark():
    index = BenchmarkIndex(8)
    index.add("bench", ["Find all real numbers x such that x squared plus one equals twice x, and prove it."])
    verdicts = decontaminate(
        [
            P("a", "Problem: find all real numbers x such that x squared plus one equals twice x."),
            P("b", "Find every real number x whose cube equals zero."),
        ],
        index,
    )
    assert [v.keep for v in verdicts] == [False, True]
    assert verdicts[0].detail["benchmark"] == "bench"
    assert len(ngrams("a b c", 8)) == 0


def test_filter_stage_records_verdicts_and_is_incremental(tmp_path, warehouse):
    bench = tmp_path / "evalset.jsonl"
    bench.write_text(
        json.dumps({"question": "Compute the number of positive divisors of the integer three hundred sixty exactly."})
        + "\n"
    )
    rows = [
        {"statement": "What is the value of seven times six, written in decimal?", "answer": "42"},
        {"statement": "what is the value of seven times six,  written in decimal?", "answer": "43"},
        {
            "statement": "Compute the number of positive divisors of the integer three hundred sixty exactly, please.",
            "answer": "24",
        },
        {"statement": "Hi?", "answer": "1"},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ingest(warehouse, str(path), HardforgeConfig())
    ingest(warehouse, "humaneval", HardforgeConfig())
    cfg = HardforgeConfig()
    cfg.filters.benchmarks = [f"{bench}:question"]
    summary = run_filters(warehouse, cfg, run_id="r1")
    # HumanEval/61 is HumanEval/56's docstring with "()" for "<>": the same words, a near duplicate
    assert summary.dropped == {"validity": 1, "exact_dedup": 1, "near_dedup": 1, "decontamination": 1}
    reasons = {
        r["reason"].split(" ")[0]
        for r in warehouse.arrow("SELECT reason FROM filter_verdicts WHERE NOT keep").to_pylist()
    }
    assert reasons == {"statement", "exact", "near", "contaminated:"}
    hit = json.loads(
        warehouse.scalar("SELECT detail FROM filter_verdicts WHERE filter = 'decontamination' AND NOT keep")
    )
    assert hit["benchmark"] == "evalset"
    total = warehouse.scalar("SELECT count(*) FROM filter_verdicts")
    # 163 HumanEval prompts and 2 of ours pass near-dedup (one of ours is then contaminated)
    assert (
        warehouse.scalar("SELECT count(DISTINCT problem_id) FROM filter_verdicts WHERE filter = 'near_dedup' AND keep")
        == 163 + 2
    )
    # a rerun adds nothing
    again = run_filters(warehouse, cfg)
    assert again.checked == {} and warehouse.scalar("SELECT count(*) FROM filter_verdicts") == total


@pytest.mark.parametrize("name", ["humaneval", "champ"])
def test_offline_benchmarks_load(name):
    from filters.benchmarks import load_benchmark

    loaded, texts = load_benchmark(name)
    assert loaded == name and len(texts) == {"humaneval": 164, "champ": 270}[name]


def test_a_changed_filter_config_re_evaluates(tmp_path, warehouse):
    """Verdicts record their filter's config hash: a new threshold is applied to old problems."""
    rows = [
        {"statement": "Short but fine?", "answer": "1"},
        {"statement": "A longer problem statement here, fine too?", "answer": "2"},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ingest(warehouse, str(path), HardforgeConfig())
    cfg = HardforgeConfig()
    first = run_filters(warehouse, cfg)
    assert first.dropped == {} and first.checked["validity"] == 2
    assert run_filters(warehouse, cfg).checked == {}  # same config: nothing to do
    cfg.filters.min_statement_chars = 20
    again = run_filters(warehouse, cfg)
    assert again.checked["validity"] == 2 and again.dropped == {"validity": 1}
    (verdict,) = warehouse.arrow("SELECT reason, config_hash FROM filter_verdicts WHERE NOT keep").to_pylist()
    assert verdict["reason"].startswith("statement too short") and verdict["config_hash"]
    assert warehouse.scalar("SELECT count(DISTINCT config_hash) FROM filter_verdicts WHERE filter = 'validity'") == 1


def test_every_registered_filter_is_a_small_class():
    from filters import FILTERS

    assert list(FILTERS) == ["validity", "exact_dedup", "near_dedup", "decontamination", "lean"]
    config = HardforgeConfig()
    hashes = {name: cls(config).config_hash() for name, cls in FILTERS.items()}
    config.filters.ngram = 13
    assert FILTERS["decontamination"](config).config_hash() != hashes["decontamination"]
    assert FILTERS["validity"](config).config_hash() == hashes["validity"]


def test_exact_dedup_compares_code_by_its_form():
    """Night 3 of a self-play run kept this AZR abduction twice: the copy added a typing import and
    another return hint. Prose and docstrings still count."""
    ask = "\nFind an input for which f returns '    Hello world'."
    hinted = "```python\nfrom typing import List\n\ndef f(s: str, width: int) -> List[str]:\n    padded = ' ' * ((width - len(s)) // 2) + s\n    return padded\n```"
    plain = "```python\ndef f(s: str, width: int) -> str:\n    padded = ' ' * ((width - len(s)) // 2) + s\n    return padded\n```"
    other = plain.replace("// 2", "// 3")
    code = dict(domain="code", verifier="azr")
    verdicts = exact_dedup(
        [
            P("a", hinted + ask, **code),
            P("b", plain + ask, **code),
            P("c", other + ask, **code),
            P("d", plain + "\nFind an input for which f returns 'Hello'.", **code),
            P("e", 'def g(x: int) -> int:\n    """Add one."""\n', **code),
            P("f", "def g(x):\n    '''Add one.'''", **code),
            P("g", "def g(x):\n    '''Add two.'''", **code),
        ]
    )
    assert [v.keep for v in verdicts] == [True, False, True, True, True, False, True]
    assert verdicts[1].reason == "exact duplicate of a"
