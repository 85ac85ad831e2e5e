"""Which reasoning-gym tasks hardforge grades, from an audit of every scorer of reasoning-gym
0.1.19 (docs/gym-scorer-audit.md: each task's scorer, what it does with the answer, file:line).

A reward must never run model text outside the sandbox, and must not pay an answer that did not
solve the problem. So a task is graded only when its scorer parses the answer (no ``eval``, no
sympy ``parse_expr``), cannot be passed at 1.0 without solving it, and cannot be made to hang;
``countdown`` and ``puzzle24`` are graded by hardforge's own exact scorers instead of theirs
(``verifiers/gym.py``). Every other task is refused at ingest with one sentence, and a problem of
a refused task already in a warehouse is graded as not passing, without running its scorer.
A new reasoning-gym version is a new audit: tests pin the version this list was made for.
"""

from __future__ import annotations

AUDITED_VERSION = "0.1.19"

# The scorer only parses the answer (string compare, int/float/Decimal/Fraction, json.loads,
# regexes, an own recursive-descent parser) and pays 1.0 only for a right answer.
PARSE_ONLY = frozenset(
    {
        "ab",
        "acre",
        "advanced_geometry",
        "aiw",
        "arc_1d",
        "arc_agi",
        "base_conversion",
        "basic_arithmetic",
        "bf",
        "binary_alternation",
        "bitwise_arithmetic",
        "boxnet",
        "caesar_cipher",
        "calendar_arithmetic",
        "chain_sum",
        "circuit_logic",
        "color_cube_rotation",
        "count_bits",
        "count_primes",
        "course_schedule",
        "cryptarithm",
        "decimal_chain_sum",
        "dice",
        "emoji_mystery",
        "family_relationships",
        "fraction_simplification",
        "futoshiki",
        "game_of_life",
        "gcd",
        "graph_color",
        "group_anagrams",
        "gsm_symbolic",
        "isomorphic_strings",
        "jugs",
        "kakurasu",
        "knight_swap",
        "knights_knaves",
        "largest_island",
        "lcm",
        "leg_counting",
        "letter_counting",
        "letter_jumble",
        "list_functions",
        "mahjong_puzzle",
        "manipulate_matrix",
        "maze",
        "mini_sudoku",
        "modulo_grid",
        "needle_haystack",
        "number_filtering",
        "number_sequence",
        "palindrome_generation",
        "palindrome_partitioning",
        "path_star",
        "power_function",
        "prime_factorization",
        "products",
        "quantum_lock",
        "ransom_note",
        "rearc",
        "rectangle_count",
        "rotate_matrix",
        "rotten_oranges",
        "self_reference",
        "sentence_reordering",
        "shortest_path",
        "simple_equations",
        "simple_geometry",
        "sokoban",
        "spell_backward",
        "string_manipulation",
        "string_splitting",
        "string_synthesis",
        "sudoku",
        "survo",
        "syllogism",
        "tower_of_hanoi",
        "tsumego",
        "word_ladder",
        "word_sequence_reversal",
        "word_sorting",
        "zebra_puzzles",
    }
)
# Scored by hardforge (verifiers/gym_scorers.py): countdown and puzzle24 (digits, + - * /,
# parentheses; exactly the puzzle's numbers; exact value), and the tasks whose own scorer pays a
# wrong answer (the re-audit of 2026-12-04 below, docs/gym-scorer-audit.md §5).
OWN_SCORERS = frozenset({"countdown", "puzzle24", "complex_arithmetic", "pool_matrix", "decimal_arithmetic", "codeio"})

# Refused, with the reason a user reads.
EXECUTES = {
    "countdown": "sympy.parse_expr",
    "puzzle24": "sympy.parse_expr",
    "polynomial_multiplication": "sympy.parse_expr",
    "simple_integration": "sympy.parse_expr",
    "intermediate_integration": "sympy.parse_expr",
    "binary_matrix": "eval",
    "n_queens": "eval",
    "spiral_matrix": "eval",
    "string_insertion": "eval",
}
GAMEABLE = {
    "game_of_life_halting": "it pays 1.0 for any non-empty answer",
    "propositional_logic": "it pays 1.0 for restating a premise, and its truth tables grow without bound",
    "figlet_font": "it pays 1.0 for ten matching letters of a longer word",
    "number_sorting": "it pays 1.0 for values off by up to 1",
    "coin_flip": "an answer like 1e10000000 keeps it busy for many seconds",
    "rubiks_cube": "an answer like R100000 keeps it busy for seconds",
    "rush_hour": "a move count in the millions keeps it busy",
    "composite": "it hands the answer to whichever scorer the entry names",
    # the red team of issue 31
    "time_intervals": "it pays 1.0 for '5 hours' or '5' when the answer is '5 days', and reads '.0840' as 840 ms",
    "number_format": "it pays 1.0 for any number within 0.01 of the answer, not only the candidate to pick",
    "polynomial_equations": "it pays 1.0 for the roots followed by anything that does not parse ('0.5, hello')",
}
ALLOWED = PARSE_ONLY | OWN_SCORERS


def refusal(task: str) -> str | None:
    """Why hardforge does not grade ``task`` (one sentence), or None when it does."""
    if task in ALLOWED:
        return None
    if task in EXECUTES:
        how = EXECUTES[task]
        return (
            f"reasoning-gym's '{task}' scorer runs the model's answer as Python ({how}), which hardforge never "
            "does outside the sandbox; see docs/gym-scorer-audit.md for the tasks it grades."
        )
    if task in GAMEABLE:
        return (
            f"reasoning-gym's '{task}' scorer cannot be trusted as a reward: {GAMEABLE[task]} "
            "(docs/gym-scorer-audit.md lists the tasks hardforge grades)."
        )
    return (
        f"reasoning-gym task '{task}' has not been audited for hardforge (reasoning-gym {AUDITED_VERSION}); "
        "docs/gym-scorer-audit.md lists the tasks it grades."
    )
