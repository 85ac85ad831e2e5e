"""Absolute Zero's pure pieces (methods.md §5, LeapLabTHU/Absolute-Zero-Reasoner): the seed
triplet, the proposer and solver prompts, the proposal parsers, the shape rules for a proposed
program, the induction split, and the rewards.

Two proposal formats parse: AZR's own (a ```python block with f, then an ```input block) and one
python block that defines f and then uses it, ``f(...)`` or ``print(f(...))``: the bundled
135M model writes the second far more often (11 of 32 proposals against 0 of 32, docs/synthesis/azr.md).
"""

from __future__ import annotations

import ast
import re

from schemas.keys import UNPARSABLE, without_annotations
from verifiers.code.azr import call_args, literal_repr

SEED_PROGRAM = "def f(a):\n    return a"
SEED_INPUT = "'Hello world'"

_FENCED = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_MESSAGE = re.compile(r"(?:^|\n)\s*\**message\**\s*:\s*(.+)", re.IGNORECASE)


def _fenced(output: str) -> list[tuple[str, str]]:
    """(tag, body) of each fenced block; an unclosed last block runs to the end."""
    return [(tag.lower(), body) for tag, body in _FENCED.findall(output)]


def program_form(program: str) -> str:
    """What makes two programs the same proposal: their syntax tree with docstrings dropped and
    each function's own names (arguments, locals) renamed in order of first use, so spacing,
    comments, a docstring, type hints or another argument name do not make a copy new (the text
    itself when it does not parse)."""
    try:
        tree = ast.parse(program)
    except UNPARSABLE:
        return program.strip()
    try:
        return ast.dump(_Renamed().visit(_without_docstrings(without_annotations(tree))), annotate_fields=False)
    except RecursionError:
        return program.strip()


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


class _Renamed(ast.NodeTransformer):
    """Each function's parameters and locals get the names v0, v1, ... (its closures keep the
    outer function's); module-level names, attributes and builtins keep theirs."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, str]] = []
        self.count = 0

    def _function(self, node: ast.AST) -> ast.AST:
        local: dict[str, str] = {}
        arguments = node.args
        names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs) if a is not None]
        names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
        names += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
        for name in names:  # numbered across the whole program: a nested function's names are its own
            if name not in local:
                local[name] = f"v{self.count}"
                self.count += 1
        self.scopes.append(local)
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]:
            if arg is not None:
                arg.arg = local[arg.arg]
        self.generic_visit(node)
        self.scopes.pop()
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Name(self, node: ast.Name) -> ast.Name:
        for scope in reversed(self.scopes):
            if node.id in scope:
                node.id = scope[node.id]
                break
        return node


def _literal_call(code: str, node: ast.AST) -> str | None:
    """The literal arguments of the last call ``f(...)`` in ``node``, or None."""
    found = None
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "f":
            given = call_args(ast.get_source_segment(code, call)[2:-1])
            found = given if given is not None else found
    return found


def _split_trailing_calls(code: str) -> tuple[str, str | None]:
    """(program, input): the example usage after the program (module-level expressions and
    assignments, ``f(...)``, ``print(f(...))``, ``r = f(...)``, ``print(r)``) is taken off it when
    it calls f with literal arguments, and the last such call is the input. What is taken off is
    neither shown to the solver nor run for the label: both see the program that is left."""
    try:
        tree = ast.parse(code)
    except UNPARSABLE:
        return code, None
    tail = len(tree.body)
    while tail > 0 and isinstance(tree.body[tail - 1], ast.Expr | ast.Assign | ast.AnnAssign):
        tail -= 1
    found = None
    for node in tree.body[tail:]:
        found = _literal_call(code, node) or found
    if found is None:
        return code, None
    end = tree.body[tail - 1].end_lineno if tail else 0
    # the parser's lines: str.splitlines also breaks at a form feed or U+2028, which Python does not
    return "\n".join(re.split(r"\r\n|\r|\n", code)[:end]).rstrip(), found


class _ToF(ast.NodeTransformer):
    def __init__(self, old: str) -> None:
        self.old = old

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name == self.old:
            node.name = "f"
        self.generic_visit(node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.old:
            node.id = "f"
        return node


def named_f(code: str) -> str | None:
    """``code`` with its one top-level function called f: as it is when it is f already; renamed
    (with its calls, recursive ones included) when it has another name and nothing else in the
    code is called f; None when it defines no function, several, or the name f is taken. The
    program the solver sees and the one executed for the label are the same renamed text, so the
    label stays what the program computes."""
    try:
        tree = ast.parse(code)
    except UNPARSABLE:
        return code if re.search(r"^\s*def\s+f\s*\(", code, re.M) else None
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if len(functions) != 1:
        return code if any(n.name == "f" for n in functions) else None
    old = functions[0].name
    if old == "f":
        return code
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    taken |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    taken |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    taken |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    if "f" in taken or isinstance(functions[0], ast.AsyncFunctionDef):
        return None
    try:
        return ast.unparse(_ToF(old).visit(tree))
    except (RecursionError, ValueError):
        return None


def parse_proposal(output: str) -> tuple[str, str] | str:
    """(program, canonical input) from a deduction/abduction proposal, or the reason it has none.
    The function may have any name (it is renamed f: ``named_f``); its input is an ```input
    block or a call with literal arguments after it."""
    output = output.rsplit("</think>", 1)[-1]
    blocks = _fenced(output)
    code_blocks = [
        renamed
        for tag, body in blocks
        if tag in ("python", "py", "python3", "") and (renamed := named_f(body.strip())) is not None
    ]
    if not code_blocks:
        return "unparsable: no ```python block that defines one function"
    program, called = _split_trailing_calls(code_blocks[0].strip())
    inputs = [body.strip() for tag, body in blocks if tag == "input"]
    if inputs:
        text = inputs[0]
        given = call_args(text[2:-1]) if text.startswith("f(") and text.endswith(")") else call_args(text)
        if given is None:
            return "unparsable: the ```input block is not literal arguments of f"
        return program, given
    if called is None:
        return "unparsable: no input (an ```input block, or a call f(...) with literal arguments after f)"
    return program, called


def program_error(program: str) -> str | None:
    """Why ``program`` is not one deduction/abduction program (None when it is): it must parse,
    define exactly one function, f, taking at least one argument, with only imports, classes and
    constants beside it (AZR's reject_multiple_functions)."""
    try:
        tree = ast.parse(program)
    except SyntaxError as exc:
        return f"invalid: syntax error ({exc.msg}, line {exc.lineno})"
    except UNPARSABLE as exc:  # 3,000 unary minuses in 48 tokens overflow the parser's stack
        return f"invalid: the parser gave up ({type(exc).__name__})"
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if len(functions) != 1 or functions[0].name != "f":
        names = ", ".join(n.name for n in functions) or "none"
        return f"invalid: one function f is needed at the top level (found: {names})"
    f = functions[0]
    if isinstance(f, ast.AsyncFunctionDef):
        return "invalid: f is async"
    arguments = f.args
    if not (arguments.posonlyargs or arguments.args or arguments.kwonlyargs or arguments.vararg):
        return "invalid: f takes no argument"
    for node in tree.body:
        allowed = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.Assign, ast.AnnAssign)
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (isinstance(node, allowed) or docstring):
            return f"invalid: top-level code besides f (line {node.lineno})"
    return None


def parse_induction(output: str, count: int) -> tuple[list[str], str] | str:
    """(the first ``count`` distinct inputs, the message) from an induction proposal, or the reason
    it has none. Inputs come from ```input blocks (one per block, as AZR writes them), else from
    the calls ``f(...)`` with literal arguments in its code blocks; the message from a ```message
    block, else a line 'Message: ...'."""
    output = output.rsplit("</think>", 1)[-1]
    blocks = _fenced(output)
    inputs: list[str] = []
    tagged = [body.strip() for tag, body in blocks if tag == "input"]
    for text in tagged:
        given = call_args(text[2:-1]) if text.startswith("f(") and text.endswith(")") else call_args(text)
        if given is not None:
            inputs.append(given)
    if not tagged:
        for tag, body in blocks:
            if tag in ("message", "input"):
                continue
            for line in body.splitlines():
                inputs.extend(_calls_on_line(line))
    distinct = list(dict.fromkeys(inputs))
    if len(distinct) < count:
        return f"unparsable: {len(distinct)} distinct literal inputs, {count} needed"
    messages = [body.strip() for tag, body in blocks if tag == "message" and body.strip()]
    if not messages:
        match = _MESSAGE.search(output)
        messages = [match.group(1).strip().strip("`")] if match else []
    if not messages:
        return "unparsable: no message (a ```message block or a 'Message:' line)"
    return distinct[:count], messages[0][:500]


def _calls_on_line(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("print(") and text.endswith(")"):
        text = text[6:-1].strip()
    if text.startswith("f(") and text.endswith(")"):
        given = call_args(text[2:-1])
        return [given] if given is not None else []
    return []


def split_io(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """AZR's induction split: the first half shown to the solver, the rest hidden for grading."""
    half = len(pairs) // 2
    return pairs[:half], pairs[half:]


def output_error(output: str, cap: int, *, literal: bool) -> str | None:
    """Why a gold output cannot be used: too long, or (for deduction, where the solver states it)
    not a Python literal the grader can read back."""
    if len(output) > cap:
        return f"output too long: its repr has {len(output)} characters (cap {cap})"
    if literal and literal_repr(output) != output:
        return "invalid: the output is not a Python literal (its repr does not read back)"
    return None


# -- rewards (methods.md §5; all recorded with each attempt) ------------------------------------


def proposer_reward(solve_rate: float) -> float:
    """Learnability: 1 - s̄ when 0 < s̄ < 1; 0 for a task every or no solver sample gets right."""
    return 1.0 - solve_rate if 0.0 < solve_rate < 1.0 else 0.0


def composite_reward(valid: bool, reward: float) -> float:
    """The proposer's training reward as the official code applies it: -1 for an invalid or
    unparsable proposal, -0.5 for a valid one with no learnability, else the learnability."""
    if not valid:
        return -1.0
    return reward if reward > 0 else -0.5


def solver_reward(formatted: bool, correct: bool) -> float:
    """The solver's training reward: 1 right, -0.5 stated but wrong, -1 nothing stated."""
    if correct:
        return 1.0
    return -0.5 if formatted else -1.0


def accept(solve_rate: float) -> tuple[bool, str | None]:
    """A valid task becomes a problem iff it is learnable for the policy: 0 < s̄ < 1, strictly."""
    if solve_rate >= 1.0:
        return False, "too easy: every solver sample is right (s̄ = 1)"
    if solve_rate <= 0.0:
        return False, "unsolved: no solver sample is right (s̄ = 0)"
    return True, None


# -- prompts ------------------------------------------------------------------------------------


def reference_block(program: str, given: str) -> str:
    return f"```python\n{program.rstrip()}\n\nprint(f({given}))\n```"


def proposer_prompt(task: str, references: list[tuple[str, str]]) -> str:
    """The deduction/abduction proposer prompt at the bundled model's level: short, with the K
    references as examples to differ from. AZR's full prompt (goals, rules, the banned-module
    list) made the 135M model import the very modules it names: 1 of 48 proposals parsed
    (docs/synthesis/azr.md). The rules are enforced by validation all the same."""
    shown = "\n\n".join(reference_block(p, i) for p, i in references)
    aim = "its output is hard to predict" if task == "deduction" else "its input is hard to guess from its output"
    plural = "s" if len(references) > 1 else ""
    return (
        "Write a short Python function f with one argument, then call it once with print(f(...)) on a value of your "
        f"choice. Put both in one ```python block. For example:\n{shown}\n\n"
        f"Write a new one, different from the example{plural}, so that {aim}."
    )


def induction_prompt(program: str, count: int) -> str:
    """AZR's induction proposer: inputs for a given program and a message describing it."""
    return (
        f"Here is a Python function:\n\n```python\n{program.rstrip()}\n```\n\n"
        f"Write {count} different calls of it, one per line, in one ```python block, like this:\n"
        "```python\nf(1)\nf(25)\n```\nThen write a line 'Message: ...' that says what f does."
    )


def solver_statement(
    task: str,
    program: str = "",
    given: str = "",
    output: str = "",
    shown: list[tuple[str, str]] | None = None,
    message: str = "",
) -> str:
    """The problem the solver sees (the instruction for the reply is added per source)."""
    if task == "deduction":
        return f"```python\n{program.rstrip()}\n```\nWhat does f({given}) return?"
    if task == "abduction":
        return f"```python\n{program.rstrip()}\n```\nFind an input for which f returns {output}."
    examples = "\n".join(f"f({i}) returns {o}" for i, o in shown or [])
    return f"Write a Python function f that gives these results:\n{examples}\n\nHint: {message}"
