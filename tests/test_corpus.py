"""The local corpora (read from Debian's real dict-foldoc and dict-jargon files), BM25 search,
concept-bank ingest with its quarantine, and the qa verifier."""

import json

import pytest

from ingest import corpus as corpus_module
from ingest.concepts import ingest_concepts
from ingest.corpus import b64_number, read_dictd, resolve_corpus
from ingest.service import ingest_corpus
from schemas.errors import HardforgeError
from tests.conftest import run_cli
from verifiers.base import GradeItem
from verifiers.qa import QaVerifier, extract_qa_answer, normalize, token_f1
from warehouse.corpus import CorpusSearch, documents, neighbours

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(number: int) -> str:
    digits = ""
    while True:
        digits = B64[number % 64] + digits
        number //= 64
        if number == 0:
            return digits


def write_dictd(folder, name, articles: dict[str, list[str]]):
    """A dictd pair: each article (its text) under one or more headwords."""
    body, index = b"", []
    for text, words in articles.items():
        data = text.encode()
        index += [f"{w}\t{b64(len(body))}\t{b64(len(data))}" for w in words]
        body += data
    (folder / f"{name}.dict").write_bytes(body)
    path = folder / f"{name}.index"
    path.write_text("\n".join(sorted(index)) + "\n")
    return path


TINY = {
    "Python\n\n   A language invented by Guido van Rossum in 1991.  It\n   combines ideas from {ABC} and {Icon}, and runs on {Unix\n   systems}.\n": [
        "python"
    ],
    "ABC\n\n   An imperative language designed at CWI; it inspired\n   {Python} and replaced {BASIC} in teaching.  See {nowhere}.\n": [
        "abc"
    ],
    "Icon\n\n   A string processing language from the University of Arizona.\n": ["icon"],
    "Unix\n\n   An operating system from Bell Labs.\n": ["unix", "unix system"],
    "BASIC\n\n   Beginner's All-purpose Symbolic Instruction Code, from Dartmouth.\n": ["basic"],
}


@pytest.mark.parametrize(
    ("text", "number"), [("A", 0), ("B", 1), ("BA", 64), ("Gb9L", 6 * 64**3 + 27 * 64**2 + 61 * 64 + 11)]
)
def test_dictd_base64(text, number):
    assert b64_number(text) == number


def test_a_dictd_file_by_path(tmp_path):
    read = read_dictd(*resolve_corpus(str(write_dictd(tmp_path, "tiny", TINY))))
    assert [d.title for d in read.documents] == ["Python", "ABC", "Icon", "Unix", "BASIC"]
    python = read.documents[0]
    assert python.text.startswith("A language invented by Guido") and python.headwords == "python"
    links = {
        (d.title, link.anchor): link.dst_id for d in read.documents for link in read.links if link.src_id == d.doc_id
    }
    by_title = {d.title: d.doc_id for d in read.documents}
    assert links[("Python", "Unix systems")] == by_title["Unix"]  # across a line break, plural of a headword
    assert links[("ABC", "Python")] == by_title["Python"]
    assert links[("ABC", "nowhere")] is None and read.unresolved == 1


def test_the_real_debian_corpora(warehouse):
    foldoc = ingest_corpus(warehouse, "foldoc")
    assert (foldoc["headwords"], foldoc["documents"], foldoc["links"], foldoc["resolved_links"]) == (
        15247,
        12014,
        58850,
        46863,
    )
    jargon = ingest_corpus(warehouse, "jargon")
    assert (jargon["documents"], jargon["links"], jargon["resolved_links"]) == (2307, 5175, 5149)
    again = ingest_corpus(warehouse, "foldoc")
    assert (again["new_documents"], again["new_links"]) == (0, 0)
    assert warehouse.scalar("SELECT count(*) FROM documents") == 12014 + 2307
    docs = documents(warehouse, "foldoc")
    found = CorpusSearch(docs).search("interpreted language invented by Guido van Rossum", 3)
    assert found[0][0].title == "Python"
    assert {"ABC", "Icon", "Modula-3"} <= {d.title for d in neighbours(warehouse, found[0][0].doc_id)}
    assert CorpusSearch(docs).search("the of and", 3) == []  # stop words only


def test_a_missing_corpus_is_one_sentence(tmp_path, monkeypatch, data_dir):
    monkeypatch.setattr(corpus_module, "DICTD_DIR", tmp_path)
    with pytest.raises(HardforgeError, match=r"apt-get install dict-foldoc"):
        resolve_corpus("foldoc")
    with pytest.raises(HardforgeError, match="neither foldoc, jargon nor an existing dictd .index file"):
        resolve_corpus(str(tmp_path / "missing.index"))
    result = run_cli(data_dir, "ingest", "corpus", "wordnet")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "hardforge: wordnet is neither foldoc, jargon nor an existing dictd .index file."
    result = run_cli(data_dir, "ingest", "concepts")
    assert result.returncode == 2 and "needs a JSONL file" in result.stderr


def test_concept_bank_ingest_quarantines_bad_rows(tmp_path, warehouse):
    path = tmp_path / "planetmath.jsonl"
    lines = [
        {
            "Concept": "Euler's totient",
            "Explanation": "phi(n) counts 1 <= k <= n coprime to n.",
            "Categories": ["Number theory"],
            "source": "x.md",
        },
        {
            "Concept": "Pick's theorem",
            "Explanation": "Area = I + B/2 - 1 for a lattice polygon.",
            "Categories": "Geometry",
        },
        {"Concept": "", "Explanation": "no name"},
        {"Concept": "Too many", "Explanation": "e", "Categories": ["a", "b", "c", "d"]},
        ["not", "an", "object"],
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n")
    summary = ingest_concepts(warehouse, path)
    assert (summary.rows, summary.inserted) == (6, 2)
    assert dict(summary.quarantined) == {
        "missing Concept": 1,
        "bad Categories": 1,
        "not a JSON object": 1,
        "bad JSON": 1,
    }
    rows = warehouse.arrow("SELECT name, category, source FROM concepts ORDER BY name").to_pylist()
    assert rows == [
        {"name": "Euler's totient", "category": "Number theory", "source": "planetmath"},
        {"name": "Pick's theorem", "category": "Geometry", "source": "planetmath"},
    ]
    assert warehouse.scalar("SELECT count(*) FROM quarantine WHERE source = 'concepts:planetmath'") == 4
    assert ingest_concepts(warehouse, path).inserted == 0  # a rerun adds nothing


@pytest.mark.parametrize(
    ("reply", "mode", "answer"),
    [
        ("<answer>Guido van Rossum</answer>", "strict", "Guido van Rossum"),
        ("Guido van Rossum.", "strict", None),
        ("Guido van Rossum.", "flexible", "Guido van Rossum"),
        ("The answer is Lisp. It was made by McCarthy.", "flexible", "Lisp"),
        ("**Lisp**\nbecause it is old", "flexible", "Lisp"),
        ("Lisp, Python, C, Perl, Ruby, Java, Go, Rust, Haskell, OCaml, Scheme, Forth, Ada", "flexible", None),  # a list
        ("", "flexible", None),
        ("C <answer></answer>", "flexible", "C"),  # a stray tag is no part of the answer (a 0.5B's solvers)
        ("C <answer>", "flexible", "C"),
    ],
)
def test_qa_extraction(reply, mode, answer):
    assert extract_qa_answer(reply, mode) == answer


def test_qa_grading_is_exact_match_with_f1_recorded():
    assert normalize("The  Unix-system!") == "unix-system"  # what is inside a word stays (issue 31)
    assert token_f1("Guido van Rossum", "Guido van Rossum") == 1.0
    assert round(token_f1("Guido", "Guido van Rossum"), 3) == 0.5
    grades = QaVerifier().grade(
        [
            GradeItem("Guido van Rossum", "<answer>guido van rossum</answer>", extraction="strict"),
            GradeItem("Guido van Rossum", "<answer>Guido</answer>", extraction="strict"),
            GradeItem("Guido van Rossum", "<answer>Guido van Rossum or Larry Wall</answer>", extraction="strict"),
            GradeItem("the Unix", "<answer>Unix</answer>", extraction="strict"),
            GradeItem("Lisp", "<answer>!!!</answer>", extraction="strict"),
        ]
    )
    assert [g.correct for g in grades] == [True, False, False, True, False]
    assert grades[1].score == 0.5 and grades[2].score < 1.0


def test_a_qa_answer_may_be_another_name_of_the_label():
    """A problem's ``extra.aliases`` (an ASearcher label's dictionary headwords) are right too; the
    reply still has to be one name, and aliases that are no list of strings name nothing."""
    gold, names = "International Business Machines", ["big blue", "ibm"]

    def right(reply, aliases):
        item = GradeItem(gold, f"<answer>{reply}</answer>", extra={"aliases": aliases}, extraction="strict")
        return QaVerifier().grade([item])[0].correct

    assert right("IBM", names) and right("Big Blue", names) and right("international business machines", names)
    assert not right("IBM", []) and not right("IBM", "ibm") and not right("IBM", [["ibm"]])
    assert not right("IBM or Apple", names) and not right("Apple", names) and not right("IB", names)
    for extra in ("aliases", ["ibm"], None):  # a problem's extra that is no mapping names nothing
        (grade,) = QaVerifier().grade([GradeItem(gold, "<answer>IBM</answer>", extra=extra, extraction="strict")])
        assert grade.correct is False


def test_the_nightly_seeds_can_name_a_corpus(data_dir):
    from flows.session import StageSession
    from flows.stages import ingest_stage
    from schemas.config import HardforgeConfig

    with StageSession(HardforgeConfig(data_dir=data_dir), "ingest") as session:
        (figures,) = ingest_stage(session, ["corpus:jargon"])
        session.finish({})
    assert (figures["corpus"], figures["new_documents"]) == ("jargon", 2307)
