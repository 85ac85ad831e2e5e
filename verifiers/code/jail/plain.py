"""Plain values across a process boundary: the one way a graded program's results reach the side
that judges them. Stdlib only: the jailed worker imports this file as it is.

``encode`` turns a value built from built-in types *all the way down* (exact types: no subclass,
no object with its own ``__eq__``) into JSON text; anything else raises ``NotPlain``. A few standard
containers honest code returns are read through their base type's own methods, never the object's:
``Counter``, ``defaultdict`` and ``OrderedDict`` as a dict, a ``namedtuple`` as a tuple, a generator
or iterator as the items it yields (rebuilt as an iterator), ``Fraction`` and ``Decimal`` as
numbers. ``decode`` rebuilds real values from that text (built-in types, ``Fraction``, ``Decimal``),
checking its shape, depth and size, so the trusted side compares values it made itself, whatever
the other side sent. The encoder runs where the program runs and can be subverted; the decoder is
the guarantee.

The format: ``null``/``true``/``false``, JSON strings, JSON integers (below 2**63 in magnitude),
JSON arrays for lists, and one-key objects for the rest: ``{"x": hex}`` a larger int,
``{"f": float.hex()}`` a float, ``{"c": [re, im]}`` a complex, ``{"t": [...]}`` a tuple,
``{"s": [...]}`` a set, ``{"z": [...]}`` a frozenset, ``{"d": [[k, v], ...]}`` a dict,
``{"b": hex}`` bytes, ``{"a": hex}`` a bytearray, ``{"g": [...]}`` an iterator, ``{"q": [n, d]}``
a Fraction (hex ints), ``{"m": text}`` a Decimal.

``canonical_repr`` is ``repr`` with the elements of sets in a sorted order: two processes with
different hash seeds print the same set the same way (AZR compares values by their repr).
"""

from __future__ import annotations

import collections
import decimal
import fractions
import json
import types

MAX_DEPTH = 100
MAX_NODES = 200_000
MAX_TEXT = 4 << 20  # characters of encoded text
_SMALL = 1 << 63


class NotPlain(ValueError):
    """A value that is not made of built-in types only, or text that is not a plain encoding."""


def encode(value: object) -> str:
    budget = [MAX_NODES]
    text = json.dumps(_encode(value, 0, budget), separators=(",", ":"), allow_nan=False)
    if len(text) > MAX_TEXT:
        raise NotPlain(f"the value is too large ({len(text)} characters encoded, limit {MAX_TEXT})")
    return text


def _encode(value, depth, budget):
    budget[0] -= 1
    if budget[0] < 0:
        raise NotPlain(f"the value has more than {MAX_NODES} parts")
    if depth > MAX_DEPTH:
        raise NotPlain(f"the value is nested deeper than {MAX_DEPTH}")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -_SMALL < value < _SMALL else {"x": hex(value)}
    if kind is float:
        return {"f": value.hex()}
    if kind is complex:
        return {"c": [value.real.hex(), value.imag.hex()]}
    if kind is list:
        return [_encode(item, depth + 1, budget) for item in value]
    if kind is tuple:
        return {"t": [_encode(item, depth + 1, budget) for item in value]}
    if kind is set or kind is frozenset:
        return {"s" if kind is set else "z": [_encode(item, depth + 1, budget) for item in value]}
    if kind is dict:
        return {"d": [[_encode(k, depth + 1, budget), _encode(v, depth + 1, budget)] for k, v in value.items()]}
    if kind is bytes or kind is bytearray:
        return {"b" if kind is bytes else "a": value.hex()}
    # standard containers, read through their base type (a subclass's own methods never run)
    if kind in _DICTS:
        return {"d": [[_encode(k, depth + 1, budget), _encode(v, depth + 1, budget)] for k, v in dict.items(value)]}
    if _is_namedtuple(kind):
        return {"t": [_encode(item, depth + 1, budget) for item in tuple.__iter__(value)]}
    if kind in _ITERATORS:
        items = []
        for item in value:  # a generator runs its own code: it is the program's answer being produced
            items.append(_encode(item, depth + 1, budget))
        return {"g": items}
    if kind is fractions.Fraction:
        return {"q": [hex(int.__int__(value.numerator)), hex(int.__int__(value.denominator))]}
    if kind is decimal.Decimal:
        return {"m": decimal.Decimal.__str__(value)}
    raise NotPlain(f"a value of type {_type_name(value)} is not a plain built-in value")


_DICTS = (collections.Counter, collections.defaultdict, collections.OrderedDict)
_ITERATORS = (
    types.GeneratorType,
    type(iter([])),
    type(iter(())),
    type(iter(range(0))),
    map,
    filter,
    zip,
    reversed,
    enumerate,
    type(iter({}.items())),
    type(iter({}.keys())),
    type(iter({}.values())),
)


def _is_namedtuple(kind: type) -> bool:
    return kind.__bases__ == (tuple,) and isinstance(getattr(kind, "_fields", None), tuple)


def _type_name(value: object) -> str:
    try:
        return str(type(value).__name__)[:60]
    except Exception:  # a metaclass that fights back
        return "object"


def decode(text: str | bytes) -> object:
    """The value ``text`` encodes, built here from built-in types; ``NotPlain`` when the text is
    anything but a well-formed encoding within the limits."""
    if len(text) > MAX_TEXT:
        raise NotPlain("the encoded value is too large")
    try:
        tree = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise NotPlain(f"not a plain encoding ({type(exc).__name__})") from None
    try:
        return _decode(tree, 0, [MAX_NODES])
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        if isinstance(exc, NotPlain):
            raise
        raise NotPlain(f"not a plain encoding ({type(exc).__name__}: {str(exc)[:100]})") from None


def _no_float(text: str) -> object:
    raise NotPlain("bare JSON floats are not part of the encoding")


def _decode(node, depth, budget):
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise NotPlain("the encoded value is too large or too deep")
    kind = type(node)
    if node is None or kind is bool or kind is str:
        return node
    if kind is int:
        if not -_SMALL < node < _SMALL:
            raise NotPlain("a large int must be hex-tagged")
        return node
    if kind is list:
        return [_decode(item, depth + 1, budget) for item in node]
    if kind is not dict or len(node) != 1:
        raise NotPlain("an object of the encoding has exactly one tag")
    ((tag, body),) = node.items()
    if tag == "x" and type(body) is str:
        return int(body, 16)
    if tag == "f" and type(body) is str:
        return float.fromhex(body)
    if tag == "c" and type(body) is list and len(body) == 2 and all(type(b) is str for b in body):
        return complex(float.fromhex(body[0]), float.fromhex(body[1]))
    if tag in ("b", "a") and type(body) is str:
        raw = bytes.fromhex(body)
        return raw if tag == "b" else bytearray(raw)
    if tag == "q" and type(body) is list and len(body) == 2 and all(type(b) is str for b in body):
        numerator, denominator = int(body[0], 16), int(body[1], 16)
        if denominator == 0:
            raise NotPlain("a fraction with denominator 0")
        return fractions.Fraction(numerator, denominator)
    if tag == "m" and type(body) is str and len(body) <= 1000:
        return decimal.Decimal(body)
    if type(body) is not list:
        raise NotPlain(f"tag {tag!r} has the wrong body")
    if tag == "t":
        return tuple(_decode(item, depth + 1, budget) for item in body)
    if tag == "g":
        return iter([_decode(item, depth + 1, budget) for item in body])
    if tag == "s":
        return {_decode(item, depth + 1, budget) for item in body}
    if tag == "z":
        return frozenset(_decode(item, depth + 1, budget) for item in body)
    if tag == "d":
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise NotPlain("a dict entry is a [key, value] pair")
            out[_decode(pair[0], depth + 1, budget)] = _decode(pair[1], depth + 1, budget)
        return out
    raise NotPlain(f"unknown tag {str(tag)[:20]!r}")


def canonical_repr(value: object) -> str:
    """``repr`` of a decoded value, with set and frozenset elements sorted by their own canonical
    repr (and dict order kept: it is the value's own)."""
    kind = type(value)
    if kind is list:
        return "[" + ", ".join(canonical_repr(v) for v in value) + "]"
    if kind is tuple:
        inner = ", ".join(canonical_repr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if kind is dict:
        return "{" + ", ".join(f"{canonical_repr(k)}: {canonical_repr(v)}" for k, v in value.items()) + "}"
    if kind is set or kind is frozenset:
        if not value:
            return "set()" if kind is set else "frozenset()"
        inner = ", ".join(sorted(canonical_repr(v) for v in value))
        return "{" + inner + "}" if kind is set else "frozenset({" + inner + "})"
    return repr(value)
