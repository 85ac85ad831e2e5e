import pytest

from schemas.keys import normalize_text, problem_id


@pytest.mark.parametrize(
    ("domain", "text", "expected"),
    [
        ("math", "  What is\t2 +  2?\n", "What is 2 + 2?"),
        ("math", "Let A be", "Let A be"),  # case kept: A and a are different variables
        ("math", "e\u0301", "\u00e9"),  # NFC
        ("code", "def f():\r\n    return 1   \r\n\n", "def f():\n    return 1"),
        ("code", "\n\ndef f():\n  x\n", "def f():\n  x"),  # indentation kept
        ("qa", "Who\nwrote  it?", "Who wrote it?"),
    ],
)
def test_normalize_text(domain, text, expected):
    assert normalize_text(text, domain) == expected


def test_problem_id_is_content_addressed():
    a = problem_id("math", "What is 2+2?", "4")
    assert a == problem_id("math", "  What is 2+2? ", " 4")
    assert a != problem_id("math", "What is 2+2?", "5")
    assert a != problem_id("qa", "What is 2+2?", "4")
    assert problem_id("code", "def f():\n  return 1", "t") != problem_id("code", "def f():\n    return 1", "t")
    assert len(a) == 32 and int(a, 16) >= 0


def test_code_form_drops_type_hints_and_their_imports_only():
    from schemas.keys import code_form

    hinted = "from typing import List\n\ndef f(s: str, width: int) -> List[str]:\n    n: int = width  # pad\n    return ' ' * n + s"
    plain = "def f(s, width):\n    n = width\n    return ' ' * n + s"
    assert code_form(hinted) == code_form(plain)
    # what runs stays: a docstring (a HumanEval prompt's task), another import, another body
    assert code_form('def f(x):\n    """Add one."""\n    return x') != code_form("def f(x):\n    return x")
    assert code_form("import math\ndef f(x):\n    return x") != code_form("def f(x):\n    return x")
    assert code_form("def f(x):\n    return x + 1") != code_form("def f(x):\n    return x")
    # a dataclass's annotated names are its fields: their types may go, the fields may not
    fields = "@dataclass\nclass P:\n    x: {}\n    y: int = 0"
    assert code_form(fields.format("int")) == code_form(fields.format("float"))
    assert code_form(fields.format("int")) != code_form("@dataclass\nclass P:\n    y: int = 0")


@pytest.mark.parametrize("text", ["def f(:\n", "x = 1\x00", "(" * 5000 + ")" * 5000])
def test_code_that_does_not_parse_has_no_form(text):
    from schemas.keys import code_form

    assert code_form(text) is None
