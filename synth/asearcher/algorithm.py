"""ASearcher's QA synthesis agent, pure pieces (methods.md §3, inclusionAI/ASearcher qa_synthesis):
the prompts, the parsers for the agent's replies (JSON, or labelled lines for a small model), the
yes/no judge, the turn state with its commit rule, and the difficulty and uniqueness decisions.

One QA is grown from one document: a base QA from its facts, then up to ``max_turns`` turns, each
INJECT (a fact from a linked, unused neighbour replaces the mention of an entity, the answer kept)
or FUZZ (one identifying detail blurred); EXIT once some QA was answered by no solver sample. Every
candidate must pass three checks: validity (yes/no), difficulty (8 solver samples, judged by the qa
verifier) and uniqueness (each distinct wrong answer: "is this also correct?"; any yes rejects). A
rejected turn keeps the last accepted QA.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from schemas.keys import content_key
from verifiers.qa import MAX_WORDS, normalize

ACTIONS = ("inject", "fuzz", "exit")
_JSON_BLOCK = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_LABEL = re.compile(
    r"^\s*\**(question|answer|statement|action|entity|q|a)\**\s*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_SHORT = {"q": "question", "a": "answer"}


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last JSON object in a reply: a fenced ```json block, else the last {...} that parses."""
    for block in reversed(_JSON_BLOCK.findall(text)):
        try:
            value = json.loads(block)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    found = None
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            found = value
    return found


def fields(text: str) -> dict[str, str]:
    """The reply's fields: its last JSON object's string values, else labelled lines
    ("Question: ...", "Answer: ..."), the last of each label winning."""
    obj = last_json_object(text)
    if obj is not None:
        pairs = [(str(k).lower(), str(v)) for k, v in obj.items() if isinstance(v, str | int | float)]
    else:
        pairs = [(_SHORT.get(label.lower(), label.lower()), value) for label, value in _LABEL.findall(text)]
    return {key: _unbracketed(value, pair_only=key == "answer") for key, value in pairs}


def _unbracketed(value: str, pair_only: bool = False) -> str:
    """A value without the prompt's placeholder brackets kept around it ("Answer: <Guido>"): only
    a leading "<" and a trailing ">" of a value with no other angle bracket are taken off; of an
    answer, only both together (a lone one is part of it: "<1%" is not "1%")."""
    value = value.strip()
    if pair_only and not (value.startswith("<") and value.endswith(">")):
        return value
    inner = value.removeprefix("<").removesuffix(">")
    return inner.strip() if "<" not in inner and ">" not in inner else value


@dataclass(frozen=True)
class QA:
    question: str
    answer: str
    statement: str = ""


# the prompts' placeholders, kept by a small policy ("Question: (the new question)", "<your question>"),
# bracketed or not, in any case (a red team's list: "[the new question]", "Your question here?")
_PLACEHOLDER = re.compile(
    r"[(\[<]\s*(?:(?:the|your|a|my)\s+)?(?:(?:new|original|old|next|previous|rewritten|edited|harder)\s+)?question"
    r"[^)\]>]*[)\]>]"
    r"|^\W*(?:(?:the|your|a|my)\s+)?(?:(?:new|original|old|next|previous|rewritten|edited|harder)\s+)?question"
    r"(?:\s+here)?\W*$",
    re.IGNORECASE,
)
# a question about the document itself: any reader of a titled fact answers it with the title
_ABOUT_THE_DOCUMENT = re.compile(
    r"\b(?:this|these|the\s+following|the\s+above|the\s+given)\s+(?:document|facts?|entry|entries|text|"
    r"definitions?|article|page|passage|statements?|sentences?)\b|\b(?:title|topic|subject|theme)\s+of\s+(?:this|the)\s+(?:document|entry|page|article|text)\b"
    # "the document" too, not "the text" or "the page" ("Which tag reloads the page?" is a question)
    r"|\bthe\s+(?:documents?|facts?|passage|article)\b"
    r"|\b(?:entry|term|document|page)\s+is\s+this\b"
    r"|\b(?:described|defined|discussed|meant|mentioned|hidden)\s+(?:here|above|below)\b"
    r"|\b(?:hidden|masked|redacted|missing)\s+(?:term|word|name|entry|subject)\b"
    r"|\b(?:term|word|name|entry|subject)\s+(?:is\s+)?(?:hidden|masked|redacted|missing)\b"
    # a red team's (2026-12-07): "those facts", "every fact", "the statements", the headword, the placeholder
    r"|\b(?:those|all|every|each)\s+(?:facts?|statements?|sentences?|entries|definitions?)\b"
    r"|\bthe\s+(?:statements|sentences|headword|placeholder)\b|\bheadword\b"
    r"|\bthe\s+(?:text|entry)\s+(?:describes?|defines?|names?|means?)\b",
    re.IGNORECASE,
)
# where a question says it read its answer ("the term used in the document to describe ...",
# "According to the text, which ..."): the phrase, not the question, is about the document (a 0.5B
# wrote 9 of 32 base QAs so, 2026-12-07). Only a phrase set off by commas, or before "to": "the end
# of the text" or "a link within the document" is what the question asks about
_IN_THE_DOCUMENT = re.compile(
    r"(?:^|,?\s+)(?:in|from|within|according\s+to)\s+(?:the|this|that)\s+"
    r"(?:(?:given|provided|above|following|same)\s+)?(?:document|text|passage|article|entry)\b(?:\s*,|(?=\s+to\b))",
    re.IGNORECASE,
)
ASKED_WORDS = 3  # content words a question needs once such a phrase is taken out
# what is left of a question with nothing in it: "What is the definition of the term?"
_NOTHING_ASKED = {
    "what", "which", "is", "are", "was", "the", "a", "an", "of", "this", "that", "it", "term", "terms",
    "word", "name", "definition", "meaning", "mean", "means", "does", "do", "define", "defined", "defines",
    "called", "used", "given", "here", "main", "point", "purpose", "specific", "core", "key", "title",
    "topic", "subject", "you", "provided", "gave", "shown", "described", "about", "above", "below", "following",
    "refer", "refers", "answer", "stand", "stands",
}  # fmt: skip
_BARE_QUESTION = re.compile(r"^\s*(?:\d+[.)]\s*)?([^:\n]{8,}\?)\s*$", re.MULTILINE)


def parse_qa(text: str, *, need_statement: bool = True) -> QA | str:
    """A QA from a reply, or the reason it has none: a question, a short answer (at most 12 words)
    that the question does not state, and a supporting statement. The question may be a bare line
    ending in "?" before the answer, without its "Question:" label (a small model drops it); the
    answer always needs its label, so nothing else in a reply is taken for one."""
    got = fields(text)
    question, answer, statement = got.get("question", ""), got.get("answer", ""), got.get("statement", "")
    if not question and answer:
        before = re.split(r"(?im)^\s*\**answer\**\s*[:：]", text, maxsplit=1)[0]
        bare = _BARE_QUESTION.findall(before)
        question = bare[-1].strip() if bare else ""
    if not question or not answer:
        return "unparsable: no question and answer"
    if _PLACEHOLDER.search(question):
        return "unparsable: the prompt's placeholder is in the question"
    if len(answer.split()) > MAX_WORDS:
        return f"unparsable: the answer has over {MAX_WORDS} words"
    if need_statement and not statement:
        return "unparsable: no supporting statement"
    if normalize(answer) and normalize(answer) in normalize(question):
        return "invalid: the question states its answer"
    return QA(question, answer, statement)


def parse_title_qa(text: str, title: str) -> QA | str:
    """A base QA whose answer is the root's title (``base_answer = "title"``), or the reason it has
    none: the question (labelled, or a bare line ending in "?"), never naming the title, and a
    statement if written (the fact read is the document's own sentence anyway). An answer the reply
    writes must be the title: the policy does not choose the label here. A phrase that only says
    where the question read its answer ("... used in the document to describe ...") is taken out;
    a question about the document itself, or one with nothing left to ask, is refused."""
    got = fields(text)
    question, answer = got.get("question", ""), got.get("answer", "")
    if not question:
        bare = _BARE_QUESTION.findall(text)
        question = bare[0].strip() if bare else ""
    if not question:
        return "unparsable: no question"
    if _PLACEHOLDER.search(question):
        return "unparsable: the prompt's placeholder is in the question"
    if answer and normalize(answer) != normalize(title):
        return f"invalid: the answer is '{answer[:60]}', not the document's title '{title}'"
    asked = _IN_THE_DOCUMENT.sub("", question).strip()
    stripped = asked != question.strip()
    if stripped:  # "According to the text, which ..." starts lower-case once the phrase is out
        asked = asked[:1].upper() + asked[1:]
    for spelled in dict.fromkeys([question, asked]):  # taking the phrase out may join the mask or the title
        if _MASK_IN_QUESTION.search(_visible(spelled)):
            return f"invalid: the question names the hidden term {TERM_MASK}, it asks nothing about it"
        if names_title(spelled, title):
            return "invalid: the question states its answer"
    content = {w for w in re.findall(r"[a-z0-9]+", asked.lower()) if len(w) > 2} - _NOTHING_ASKED
    if _ABOUT_THE_DOCUMENT.search(asked) or (stripped and len(content) < ASKED_WORDS):
        return "invalid: the question asks about the document itself, not what it says"
    if not content:
        return "invalid: the question asks nothing"
    return QA(asked, title, got.get("statement", ""))


def _visible(text: str) -> str:
    """``text`` after NFKC, without invisible format characters (zero-width spaces and the like)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")


def _letters(text: str) -> list[str]:
    """The words of ``text`` as letters and digits only, case-folded, after NFKC and without
    invisible format characters ("Py\u200bthon", "hp\u2011ux", "__Python__")."""
    return [w for w in re.split(r"[^\w]|_", _visible(text).casefold()) if w]


def _disguises(word: str, target: str) -> bool:
    """A word whose letters come from two alphabets and that spells ``target`` when each letter of
    the other alphabet is read as any letter ("Pyth\u03bfn", a Greek omicron, for "python"). Accents
    are Latin ("Gödel"), and "µs" spells no title."""
    scripts = {unicodedata.name(c, "?").split()[0] for c in word if c.isalpha()}
    if len(scripts) < 2:
        return False
    pattern = "".join(re.escape(c) if c.isascii() else "." for c in word)
    return re.fullmatch(pattern, target) is not None


def names_title(question: str, title: str) -> bool:
    """Whether ``question`` names ``title``, however it is spelled: words joined ("HPUX", "HP UX",
    "H-P-U-X", "P y t h o n"), a word it begins (a title of 4+ letters: "Pythonistas", "Python3"),
    or the title in another alphabet's look-alike letters (a homoglyph)."""
    target = "".join(_letters(title))
    words = _letters(question)
    if not target:
        return False
    if any(_disguises(w, target) for w in words):
        return True
    for i in range(len(words)):
        joined = ""
        for word in words[i:]:
            joined += word
            if joined == target or (len(target) >= 4 and joined.startswith(target) and joined == word):
                return True
            if len(joined) >= len(target):
                break
    return False


_NAME = re.compile(r"(?<!\w)(?:[^\W\d_][\w'&/.+-]*|\d[\d.,]*)")
_EDGE_MARKS = "\"'“”‘’.,;:!?()[]{}<>"
_POSSESSIVE = re.compile(r"['’]s$")
_NEGATION = {"not", "no", "never", "neither", "nor", "without", "except", "unlike"}


_CORPUS_WORD = re.compile(r"[^\W\d_][\w+#]*(?:-[\w+#]+)*")


def proper_names(articles: list[tuple[str, str]]) -> frozenset[str]:
    """The one-word titles of the corpus's (title, text) articles that it writes as names
    (normalized): with a capital and two or more letters, and in its texts at least twice as often
    capitalized as in lower case. So "perl" in an edit is the name Perl, while "logo" or "icon",
    which the corpus also writes as common words, is not a name; nor is a name whose plural the
    corpus writes as a common word ("DOE": "does" would read as its plural)."""
    lower: Counter[str] = Counter()
    cased: Counter[str] = Counter()
    for _, text in articles:
        for word in _CORPUS_WORD.findall(text):
            folded = word.casefold()
            (lower if word == folded else cased)[folded] += 1
    names = set()
    for title, _ in articles:
        title = title.strip()
        if " " in title or title == title.casefold() or sum(c.isalpha() for c in title) < 2:
            continue
        folded = title.casefold()
        # "DOE" is a name, but "does" is a word: a lower-case "does" would read as the name's plural
        plural_is_a_word = lower[folded + "s"] > 2 * cased[folded + "s"]
        if 2 * lower[folded] <= cased[folded] and not plural_is_a_word:
            names.add(normalize(title))
    return frozenset(names)


def unsupported_names(question: str, known: list[str], names: frozenset[str] = frozenset()) -> list[str]:
    """The names and numbers of an edited question that neither the question before nor the facts
    hold: a fuzz blurs a detail, it adds none (a 1.5B's fuzz of "Which operating system conforms to
    X/Open's Portability Guide Issue 4 and FIPS 151.1?" added "and is more recent than Mac OS X",
    false of HP-UX, and the reader still answered HP-UX). A capital that starts a sentence is no name
    unless the corpus names it; a word in lower case is one when ``names`` (``proper_names`` of the
    corpus) holds it ("older than perl"); a capital or digit inside a word counts ("macOS", "v11")."""
    question = _plain(question)  # "pe\u200brl" is "perl", "_Solaris_" is "Solaris"
    words = set(" ".join(normalize(_plain(k)) for k in known).split())
    # 'known as "HP-SUX".' holds HP-SUX, and "Novell, Inc.'s" holds Inc
    words |= {_POSSESSIVE.sub("", word.strip(_EDGE_MARKS)).strip(_EDGE_MARKS) for word in words}
    words |= {part for word in words for part in word.split("-") if part}  # "1957-8" holds 1957 and 8
    negations = {n for n in map(negation, words) if n}
    missing = []
    for match in _NAME.finditer(question):
        raw = match.group(0).rstrip(".,").strip("'\"")
        token = _POSSESSIVE.sub("", raw)  # "NetWare's" names NetWare
        if not token:
            continue
        if said := negation(token):  # "was not invented by": a negation the facts do not hold
            if said not in negations:
                missing.append(token)
            if not token.casefold().startswith(("non-", "not-")):
                continue  # "non-POSIX" still names POSIX
        if {normalize(token), normalize(match.group(0))} & words or _held_plural(token, words):
            continue  # the compound itself is held ("1957-8", "U.S.", "PCs")
        if any(c.isalpha() and not _latin(c) for c in token):
            missing.append(token)  # another alphabet ("\u0440\u0435rl"), which the facts do not hold
            continue
        if token[0].islower() and (named := _lower_case_name(raw, names, words)):
            missing.append(named)  # a name in lower case ("perl", "hp-ux")
            continue
        before = question[: match.start()].rstrip().rstrip("\"'“‘(«[")
        starts_sentence = not before or (before[-1] in ".?!" and not _ABBREVIATED.search(before))
        # each part of a compound is a word of its own: "mid-1987", "ex-Perl" and "x86/Solaris"
        parts = [p for p in _PARTS.split(token) if p]
        for i, part in enumerate(parts):
            if not any(c.isupper() or c.isdigit() for c in part):
                continue
            # a capital that starts the question is no name, unless the corpus names it ("Solaris");
            # one that starts a later sentence only as a word of grammar ("Name it. Which Unix?")
            if (
                i == 0
                and starts_sentence
                and part[1:].islower()
                and (part.casefold() in _GRAMMAR if before else normalize(part) not in names)
            ):
                continue
            if any(word not in words for word in normalize(part).split()):
                missing.append(part if len(parts) > 1 else token)
    return missing


_GRAMMAR = frozenset(  # words that start a sentence as grammar, never as a name
    re.findall(
        r"\w+",
        "a an the it its this that these those there here which what who whom whose where when why how name "
        "give find state is are was were do does did in on at for of by from with if and but or so then also "
        "he she they his her their one each some all any",
    )
)
_PARTS = re.compile(r"[-/&+]|\.(?=[^\W\d_])")  # "x86/Solaris", "e.g.Solaris"; "1003.1" stays whole
_ABBREVIATED = re.compile(r"(?:\b(?:vs|cf|etc|viz|approx|incl|esp|al|ca)|\b[a-z](?:\.[a-z])*)\.$", re.IGNORECASE)


def _plain(text: str) -> str:
    """``text`` as its reader sees it: visible characters (``_visible``), emphasis underscores as
    spaces, a modifier letter apostrophe as an apostrophe, a small capital as its capital."""
    out = []
    for c in _visible(text):
        name = unicodedata.name(c, "")
        if c == "_":
            c = " "
        elif c in "\u02bc\u02bb\u2019":
            c = "'"
        elif "SMALL CAPITAL " in name and len(letter := name.rsplit(" ", 1)[-1]) == 1:
            c = letter
        out.append(c)
    return "".join(out)


def _latin(c: str) -> bool:
    return unicodedata.name(c, "LATIN").startswith("LATIN")


def negation(word: str) -> str | None:
    """The negation a word says, as one of ``_NEGATION``: "wasn't", "cannot", "non-POSIX" say not."""
    folded = word.casefold()
    if folded in _NEGATION:
        return folded
    if folded.endswith("n't") or folded == "cannot" or folded.startswith(("non-", "not-")):
        return "not"
    return None


def _held_plural(token: str, words: set[str]) -> bool:
    """An acronym's plural ("PCs") where the facts hold the acronym ("PC")."""
    return len(token) > 2 and token.endswith("s") and token[-2].isupper() and normalize(token[:-1]) in words


def _lower_case_name(token: str, names: frozenset[str], held: set[str]) -> str | None:
    """The word of a lower-case token that spells one of the corpus's ``names`` the facts do not
    hold: the token or a part of a compound, with a possessive, a plural or a version number
    ("perl's", "perls", "perl5", "perl-like", "perl/tk")."""
    for word in dict.fromkeys([token, *(p for p in _PARTS.split(token) if p)]):
        folded = normalize(word)
        forms = {folded, folded.removesuffix("'s"), folded.removesuffix("s"), folded.rstrip("0123456789.")}
        if any(form in names and form not in held for form in forms):
            return word
    return None


def parse_action(text: str, ready_to_exit: bool) -> tuple[str, str | None] | str:
    """(action, entity) from the agent's choice, or the reason it is unusable."""
    got = fields(text)
    action = got.get("action", "").strip().lower()
    action = {"select": "inject", "injection": "inject"}.get(action, action)
    if action not in ACTIONS:
        return "unparsable: no action among inject, fuzz, exit"
    if action == "exit" and not ready_to_exit:
        return "invalid: exit is offered only after a QA no solver answered"
    return action, got.get("entity")


def yes_no(text: str) -> bool | None:
    """A judge's verdict: the first word of its reply (after an optional <answer> tag), else None."""
    inner = re.findall(r"<answer>(.*?)</answer>", text, re.DOTALL | re.IGNORECASE)
    words = re.findall(r"[a-z]+", (inner[-1] if inner else text).lower())
    if not words:
        return None
    return {"yes": True, "no": False}.get(words[0])


def direct_gen_acc(correct: list[bool]) -> float:
    return sum(correct) / len(correct) if correct else 0.0


def wrong_answers(extracted: list[str | None], correct: list[bool]) -> list[str]:
    """The distinct (normalized) wrong answers the solvers gave: each is put to the uniqueness judge."""
    seen: dict[str, str] = {}
    for answer, right in zip(extracted, correct, strict=True):
        if answer and not right and normalize(answer) and normalize(answer) not in seen:
            seen[normalize(answer)] = answer
    return list(seen.values())


def uniqueness(verdicts: list[bool | None]) -> tuple[bool, str | None]:
    """Unique iff no wrong answer was judged also correct; an unreadable verdict counts as a yes
    (a doubt about uniqueness rejects)."""
    for verdict in verdicts:
        if verdict is None:
            return False, "not unique: a judge's verdict was neither yes nor no"
        if verdict:
            return False, "not unique: a wrong answer was judged also correct"
    return True, None


@dataclass
class Entity:
    doc_id: str
    title: str


@dataclass
class QaState:
    """One QA as it grows: the accepted QA, its statements, the documents used, the history."""

    qa: QA
    statements: list[str]
    entities: list[Entity]
    used: set[str] = field(default_factory=set)  # doc ids already used (root and injected neighbours)
    aliases: tuple[str, ...] = ()  # the title's other names its entry gives ("IBM"; Doc.other_names)
    ready_to_exit: bool = False
    done: bool = False
    accuracy: float | None = None
    qa_history: list[dict[str, Any]] = field(default_factory=list)
    edit_history: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, turn: int, action: str, reason: str, **detail: Any) -> None:
        self.edit_history.append({"turn": turn, "action": action, "accepted": False, "reason": reason, **detail})

    def commit(
        self,
        turn: int,
        action: str,
        qa: QA,
        accuracy: float,
        statement: str | None = None,
        entity: Entity | None = None,
        **detail: Any,
    ) -> None:
        self.qa, self.accuracy = qa, accuracy
        if statement:
            self.statements.append(statement)
        if entity is not None:
            self.entities.append(entity)
            self.used.add(entity.doc_id)
        self.qa_history.append({"question": qa.question, "answer": qa.answer, "direct_gen_acc": accuracy})
        self.edit_history.append({"turn": turn, "action": action, "accepted": True, **detail})
        if accuracy == 0.0:
            self.ready_to_exit = True


def find_entity(entities: list[Entity], name: str | None) -> Entity | None:
    """The relevant entity the agent named (by title, case-insensitive), else None."""
    if not name:
        return None
    key = normalize(name)
    return next((e for e in entities if normalize(e.title) == key), None)


# -- prompts (paraphrases of the official ones; the replies are asked for as labelled lines, which
# the bundled 135M model writes far more often than JSON: 15 of 32 base QAs parsed, against 1 of 32)


def grounded(answer: str, text: str) -> bool:
    """The base QA's answer must be a phrase of its document (normalized): a QA copied from the
    prompt's example, or made up, is not grounded in the root."""
    return bool(normalize(answer)) and f" {normalize(answer)} " in f" {normalize(text)} "


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


STATEMENT_OVERLAP = 0.75  # of a statement's words that its document sentence must hold


def document_sentence(statement: str, text: str) -> str | None:
    """The document's own sentence that ``statement`` copies (at least ``STATEMENT_OVERLAP`` of its
    words in one sentence), or None. The reading check reads facts: they must be the corpus's
    words, never the policy's (a made-up "Python was created at CWI." would make any reader agree)."""
    words = set(normalize(statement).split())
    if not words:
        return None
    best, share = None, 0.0
    for sentence in sentences(text):
        found = len(words & set(normalize(sentence).split())) / len(words)
        if found > share:
            best, share = sentence, found
    return best if share >= STATEMENT_OVERLAP else None


def titled(sentence: str, title: str) -> str:
    """A document's sentence as the corpus means it: after its document's title where it does not
    name it (a FOLDOC definition leaves its subject out: "The version of Unix running on ...")."""
    if not title or f" {normalize(title)} " in f" {normalize(sentence)} ":
        return sentence
    return f"{title}: {sentence}"


# a document's fact begins after these: a FOLDOC domain tag "<printer>" (after the synonyms a
# FOLDOC entry may start with: "REC Regular Expression Converter <language> 1."), a sense number
_FACT_PREFIX = re.compile(r"^(?:[^<>]{0,80}<[^<>]{1,40}>\s*|\(?\d{1,2}[.)](?:\s+|$))+")
FACT_WORDS = 5  # a sentence shorter than this is no fact ("A tool by R.", "web: 1.")


def first_fact(text: str) -> str | None:
    """A document's first sentence of ``FACT_WORDS`` words or more, past its domain tags and sense
    numbers; None where it has none."""
    for sentence in sentences(text):
        sentence = _FACT_PREFIX.sub("", sentence).strip()
        if len(sentence.split()) >= FACT_WORDS:
            return sentence
    return None


def _content_words(text: str) -> set[str]:
    """The words of ``text`` that say something (normalized, over three letters)."""
    return {w for w in normalize(text).split() if len(w) > 3}


def neighbour_facts(
    neighbours: list[tuple[str, str, str]], exclude: set[str], answer: str, count: int, key: str
) -> list[str]:
    """Up to ``count`` facts of a root's linked documents, ``(doc_id, title, text)``, for the
    reading check to read beside a QA's own (``key``, the question): each document's first fact
    after its title, those that share the most words with the question first (the neighbours a
    reader could take it for: "non-impact printer" beside "impact printer" for a question about a
    mechanism that does not touch the paper), ties in a stable order per question. A document of
    the QA (``exclude``), one that is its answer in another spelling, or one with no fact is left out."""
    asked, target = _content_words(key), "".join(_letters(answer))
    ranked = []
    for doc_id, title, text in neighbours:
        fact = first_fact(text)
        if doc_id in exclude or fact is None or "".join(_letters(title)) == target:
            continue
        read = titled(fact, title)
        ranked.append((-len(asked & _content_words(read)), content_key(key, doc_id), read))
    return [read for *_, read in sorted(ranked)[: max(count, 0)]]


def shuffled(facts: list[str], key: str) -> list[str]:
    """The facts in a stable order of their own (per ``key``): the QA's are not always first."""
    return sorted(facts, key=lambda fact: content_key(key, fact))


def supporting_sentence(
    answer: str, text: str, question: str = "", title: str = "", prefer: str | None = None
) -> str | None:
    """The document's sentence that holds the answer and shares the most words with the question
    (``prefer``, the sentence the policy copied, on a tie; else the first): the fact the reading
    check reads, from the corpus, never the policy's words. A sentence that does not name its
    document is read as the corpus means it, after the title: FOLDOC's "HP-UX" begins "The
    version of Unix running on Hewlett-Packard workstations.", which answers "Which Unix runs on
    HP workstations?" only as "HP-UX: The version of Unix ..." (a 0.5B policy copied the next
    sentence, about standards, and no reader could answer from it)."""
    asked = _content_words(question)
    best, score = None, -1
    for sentence in sentences(text):
        read = titled(sentence, title)
        if not grounded(answer, read):
            continue
        shared = len(asked & _content_words(read))
        if shared > score or (shared == score and prefer is not None and sentence == prefer):
            best, score = read, shared
    return best


def base_qa_prompt(title: str, text: str) -> str:
    return (
        f"Document: {title}\n{text}\n\n"
        "Pick a short phrase from this document (at most five words: a name, a date, a number, a term) and write "
        "one simple, clear question whose only correct answer is that phrase. The question asks for the phrase, so "
        "it must not contain the phrase. Reply in exactly three lines:\n"
        "Answer: <the phrase, copied from the document>\nQuestion: <your question>\n"
        "Statement: <the sentence of the document that gives the answer>"
    )


TERM_MASK = "[TERM]"
# the mask in any brackets, any case, spaced or split by invisible characters (read after NFKC)
_MASK_IN_QUESTION = re.compile(r"[\[({<]\s*t\s*e\s*r\s*m\s*[\])}>]", re.IGNORECASE)


def masked(text: str, title: str, *aliases: str) -> str:
    """``text`` with each mention of ``title`` or another of its names (any case, as a whole word)
    replaced by the mask, the longest first ("Novell NetWare" before "NetWare")."""
    for name in sorted({title, *aliases}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", TERM_MASK, text, flags=re.IGNORECASE)
    return text


def base_title_qa_prompt(title: str, text: str, aliases: tuple[str, ...] = ()) -> str:
    """The base QA for a small policy: it asks for the root's title (a dictionary's entry) from what
    the document says, instead of picking a phrase (a 0.5B coder picked the title anyway and asked
    about it: 19 of 32 base QAs stated their answer). The title is hidden behind a mask: shown the
    title and told not to write it, the 0.5B still named it in 18 of 32 questions. Its other names
    are hidden too ("IBM" for International Business Machines)."""
    return (
        f"Document: {TERM_MASK}\n{masked(text, title, *aliases)}\n\n"
        f"This document defines a term, hidden here as {TERM_MASK}. Write one clear question whose only correct "
        "answer is that term, using what the document says about it. Reply in exactly two lines:\n"
        "Question: <your question>\nStatement: <the sentence of the document your question uses>"
    )


def action_prompt(state: QaState) -> str:
    entities = "\n".join(f"- {e.title}" for e in state.entities)
    exit_option = ', or "exit" to stop' if state.ready_to_exit else ""
    return (
        f"Question: {state.qa.question}\nAnswer: {state.qa.answer}\nFacts:\n"
        + "\n".join(f"- {s}" for s in state.statements)
        + f'\nEntities:\n{entities}\n\nMake the question harder. Choose "inject" to replace an entity in the question by a '
        f'fact about something linked to it, or "fuzz" to blur one detail that gives the answer away{exit_option}. '
        f"Reply like this example:\nAction: inject\nEntity: {state.entities[0].title}"
    )


def fuzz_prompt(state: QaState) -> str:
    return (
        f"Question: {state.qa.question}\nAnswer: {state.qa.answer}\n\n"
        "Rewrite the question so that one detail pointing too directly to the answer is blurred (for example a name "
        "becomes a description). The answer must stay exactly the same and be the only correct one. "
        f"Reply like this:\nQuestion: (the new question)\nAnswer: {state.qa.answer}"
    )


def link_qa_prompt(entity: str, title: str, text: str) -> str:
    return (
        f"Document: {title}\n{text}\n\n"
        f'Write one question whose answer is exactly "{entity}", using a fact from this document, with only one correct '
        f"answer. Reply like this:\nQuestion: (the question)\nAnswer: {entity}\nStatement: (the fact, as one sentence)"
    )


def coverage_prompt(statement: str, statements: list[str]) -> str:
    return (
        "Known facts:\n"
        + "\n".join(f"- {s}" for s in statements)
        + f"\n\nNew fact: {statement}\n\nIs the new fact already stated by the known facts? Reply yes or no."
    )


def compose_prompt(state: QaState, entity: str, sub_question: str) -> str:
    return (
        f"Question: {state.qa.question}\nAnswer: {state.qa.answer}\n\n"
        f'In the question, replace the mention of "{entity}" by this description: "{sub_question}". The answer must stay '
        f'"{state.qa.answer}". Reply like this:\nQuestion: (the new question)\nAnswer: {state.qa.answer}'
    )


def validity_prompt(qa: QA, statements: list[str]) -> str:
    return (
        "Facts:\n"
        + "\n".join(f"- {s}" for s in statements)
        + f"\n\nQuestion: {qa.question}\nProposed answer: {qa.answer}\n\nIs this a single question (not several joined), "
        "answerable from the facts, whose only correct answer is the proposed answer? Reply yes or no."
    )


def alternative_prompt(qa: QA, statements: list[str], candidate: str) -> str:
    return (
        "Facts:\n"
        + "\n".join(f"- {s}" for s in statements)
        + f"\n\nQuestion: {qa.question}\nGiven answer: {qa.answer}\nAnother answer: {candidate}\n\n"
        "Does the other answer also satisfy everything the question asks? Reply yes or no."
    )
