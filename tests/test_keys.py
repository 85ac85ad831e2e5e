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
