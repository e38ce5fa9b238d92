"""The bounded Jinja sandbox: `BoundedEnvironment`, where a hostile template's costly
operations end in milliseconds with `TemplateTooCostly` instead of running for minutes.

A layout pack can arrive by email. Jinja's sandbox keeps it from Python internals but
not from work: in a build, `{{ 'a' * 10**8 }}` took 4.7 GB, `{{ 10**(10**8) }}` hung
the compiler, two nested loops over `range(100000)` ran past 20 s, `lipsum(100000)` ran
past two minutes. Here, per render:
- an operation that could multiply its input (`*`, `**`, `%`, a width, `replace`,
  `join`, …) is refused before the work, its size predicted from its operands;
- loop turns, calls, filters and includes are counted (MAX_STEPS);
- every value printed, joined, compared or read by a method or a filter is measured
  without printing it, and its characters charged with the template's own text
  (MAX_RENDER), so that repeating a cheap operation adds up too;
- a clock stops whatever the counts misjudge (MAX_RENDER_SECONDS).
`templates.render_html()` turns the refusal into a FlyerError naming the template and
line.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import BlockReference, LoopContext, Macro
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from markupsafe import Markup

from flyer.errors import french_number

# What one render may do. The shipped leaflet, for 10 services, takes 61 steps and
# 114 000 characters (40 000 printed, each QR code a 3 400-character data: URI); for
# 300 services, 1 076 steps and 3.3 million characters; 1 000 services still fit.
MAX_RANGE = 10_000  # numbers in one range()
MAX_REPEAT = 100_000  # characters or items made by `*`, and any width or count argument
MAX_INT_BITS = 1_024  # a number of about 308 digits, as far as a float goes
MAX_VALUE = 2_000_000  # characters one list or one filter input stands for once printed
MAX_STEPS = 50_000  # loop turns, calls, filters, tests and includes per render
# A macro call, a recursive loop(…) or an include runs ~10 times the Python of a loop
# turn: it counts as this many steps.
TEMPLATE_CALL_STEPS = 5
MAX_RENDER = 20_000_000  # characters read, built or printed per render
# A backstop for what the counts misjudge (a filter slow per character, on a machine
# slower than this one): a render takes milliseconds.
MAX_RENDER_SECONDS = 2.0
# A list, tuple or dict item counts as this many characters: measuring or comparing one
# in Python costs ~0.2 µs, what copying thousands of characters does; 64 keeps a
# render's measuring under ~0.1 s.
ITEM_COST = 64


class TemplateTooCostly(Exception):
    """A template asked for more work than any layout needs; `render_html()` turns it
    into a FlyerError naming the template and line. Not a ValueError: Jinja's filters
    catch those (`|int` answers 0) and would hide the refusal."""


_n = french_number


# --- the budget of one render --------------------------------------------------------

@dataclass
class _Budget:
    steps: int = 0
    chars: int = 0
    started: float = field(default_factory=time.perf_counter)

    def step(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise TemplateTooCostly(f"plus de {_n(MAX_STEPS)} tours de boucle, appels ou "
                                    "filtres ; une boucle dans une boucle ?")
        self._clock()

    def spend(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_RENDER:
            raise TemplateTooCostly(f"le modèle lit ou produit plus de {_n(MAX_RENDER)} "
                                    "caractères")
        self._clock()

    def _clock(self) -> None:
        if time.perf_counter() - self.started > MAX_RENDER_SECONDS:
            raise TemplateTooCostly(f"le modèle calcule depuis plus de "
                                    f"{MAX_RENDER_SECONDS:g} secondes")


_BUDGET: ContextVar[_Budget | None] = ContextVar("flyer_template_budget", default=None)


def _budget() -> _Budget:
    # Outside a render (Jinja folding constants while it compiles), each operation is
    # still bounded on its own.
    return _BUDGET.get() or _Budget()


@contextlib.contextmanager
def _render_budget() -> Iterator[None]:
    """One budget per render; an include or import inside it shares its parent's."""
    if _BUDGET.get() is not None:
        yield
        return
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _cost(value: Any, limit: int = MAX_VALUE) -> int:
    """Characters `value` stands for once printed, plus ITEM_COST per item, counted
    without printing it and given up past `limit`.

    A list can hold one string many times: `['a' * 99999] * 99999` is cheap to build and
    10^10 characters to print, join, compare or hash.
    """
    total = 0
    todo = [value]
    while todo and total <= limit:
        item = todo.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict):
            total += ITEM_COST * len(item)
            if total <= limit:
                todo.extend(item.keys())
                todo.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += ITEM_COST * len(item)
            if total <= limit:
                todo.extend(item)
        else:
            total += 1
    return total


def _digits(bits: int) -> int:
    return int(bits * math.log10(2)) + 1


def _too_big_number(digits: int) -> TemplateTooCostly:
    return TemplateTooCostly(f"nombre d'environ {_n(digits)} chiffres ; maximum "
                             f"{_n(_digits(MAX_INT_BITS))}")


def _sized(value: Any, weight: int = 1, reader: str = "") -> Any:
    """`value`, refused if printing it would cost more than MAX_VALUE; charged to the
    render. A `reader` slower per character counts each `weight` times."""
    limit = MAX_VALUE // weight
    cost = _cost(value, limit)
    if cost > limit:
        what = "texte" if isinstance(value, str | bytes) else "liste ou dictionnaire"
        raise TemplateTooCostly(f"{what} de plus de {_n(limit)} caractères{reader}")
    _budget().spend(cost * weight)
    return value


def _printed(value: Any) -> Any:
    """A value printed or joined with `~`. A string exists already, bounded where it was
    made (a macro's text as it was printed): printing it costs one copy, charged."""
    if isinstance(value, str):
        _budget().spend(len(value))
        return value
    return _sized(value)


def _made(value: Any) -> Any:
    """A value the template just built: a number is bounded too."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_big_number(_digits(value.bit_length()))
    return _sized(value)


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Each item is one step: nested loops over small ranges cannot multiply unseen."""
    budget = _budget()
    for item in iterable:
        budget.step()
        yield item


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateTooCostly(f"range() de {_n(len(numbers))} nombres ; maximum "
                                f"{_n(MAX_RANGE)}")
    return numbers


def _check_width(value: Any, what: str) -> None:
    if isinstance(value, int) and abs(value) > MAX_REPEAT:
        raise TemplateTooCostly(f"{what} {_n(value)} ; maximum {_n(MAX_REPEAT)}")


def _check_result(predicted: int) -> None:
    if predicted > MAX_VALUE:
        raise TemplateTooCostly(f"texte de {_n(predicted)} caractères ; maximum "
                                f"{_n(MAX_VALUE)}")


# --- operators -------------------------------------------------------------------------

def _check_repeat(sequence: Any, count: int) -> None:
    length = len(sequence) * max(count, 0)
    if isinstance(sequence, str | bytes):
        if length > MAX_REPEAT:
            raise TemplateTooCostly(f"chaîne de {_n(length)} caractères ; maximum "
                                    f"{_n(MAX_REPEAT)}")
        return
    if length > MAX_REPEAT:
        raise TemplateTooCostly(f"liste de {_n(length)} éléments ; maximum {_n(MAX_REPEAT)}")
    if _cost(sequence) * max(count, 0) > MAX_VALUE:
        raise TemplateTooCostly(f"liste de plus de {_n(MAX_VALUE)} caractères")


def _check_power(base: int, exponent: int) -> None:
    if exponent <= 0 or abs(base) <= 1:
        return  # a float, or 0, 1, -1: small whatever the exponent
    # A lower bound of the result's size, computed without computing it.
    if (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS:
        try:
            digits = int(exponent * math.log10(abs(base))) + 1
        except OverflowError:
            digits = 10**300
        raise _too_big_number(digits)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


def _check_percent(template: str | bytes, values: Any) -> None:
    """`'%100000000s' % x` and `'%s%s…' % (big, big, …)` are refused before formatting."""
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    if isinstance(values, tuple):
        biggest = max((_cost(v) for v in values), default=0)
    elif isinstance(values, Mapping):
        biggest = max((_cost(v) for v in values.values()), default=0)
    else:
        biggest = _cost(values)
    predicted = len(text)
    for match in _PERCENT_SPEC.finditer(text):
        width, precision, conversion = match.groups()
        if conversion == "%":
            continue
        if "*" in (width, precision):
            raise TemplateTooCostly("largeur « * » dans un format ; écrivez la largeur en "
                                    "chiffres")
        for number in (width, precision):
            if number is not None:
                _check_width(int(number), "largeur de")
        predicted += int(width or 0) + int(precision or 0) + biggest
    _check_result(predicted)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse, before computing it, a result that would be too large."""
    if operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _too_big_number(_digits(left.bit_length() + right.bit_length()))
        elif isinstance(right, int) and isinstance(left, str | bytes | list | tuple):
            _check_repeat(left, right)
        elif isinstance(left, int) and isinstance(right, str | bytes | list | tuple):
            _check_repeat(right, left)
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int):
            _check_power(left, right)
    elif operator == "+":
        if (isinstance(left, str | bytes | list | tuple)
                and isinstance(right, str | bytes | list | tuple)):
            _check_result(_cost(left) + _cost(right))
    elif operator == "%" and isinstance(left, str | bytes):
        _check_percent(left, right)


# --- calls of methods on values --------------------------------------------------------

_VALUE_TYPES = (str, bytes, int, float, list, tuple, dict, set, frozenset, range)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str,
         default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _check_method(owner: Any, name: str, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """A method of a str, bytes or int called by a template: every number argument is a
    width or a count (`'x'.center(10**9)`, `(1).to_bytes(10**9)`), and the methods
    whose result multiplies their input are predicted. Returns the arguments to call
    with (an iterable given to `join` is read once, here)."""
    if not isinstance(owner, str | bytes | int):
        return args  # a list, dict or range method only reads or copies it
    for value in (*args, *kwargs.values()):
        _check_width(value, f"argument de {name}() :")
    if isinstance(owner, int):
        return args
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        count = _arg(args, kwargs, 2, "count", -1)
        found = len(owner) + 1 if len(old) == 0 else owner.count(old)
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        _check_result(len(owner) + found * max(len(new) - len(old), 0))
    elif name == "join" and args:
        args = (_joined(args[0], len(owner)), *args[1:])
    elif name == "expandtabs":
        tabsize = _arg(args, kwargs, 0, "tabsize", 8)
        tab = "\t" if isinstance(owner, str) else b"\t"
        if isinstance(tabsize, int):
            _check_result(len(owner) + owner.count(tab) * max(tabsize, 0))  # type: ignore[arg-type]
    elif name == "translate" and args:
        table = args[0]
        values = table.values() if isinstance(table, Mapping) else (
            table if isinstance(table, list | tuple) else ())
        longest = max((len(v) for v in values if isinstance(v, str | bytes)), default=1)
        _check_result(len(owner) * max(longest, 1))
    return args


# --- filters and tests -----------------------------------------------------------------

# Filter arguments that are a width or a count (`'x'|center(10**9)`, `[1]|batch(10**9, 0)`).
_WIDTH_ARGUMENTS = {"width": "largeur", "linecount": "taille des paquets",
                    "slices": "nombre de parts", "precision": "précision",
                    "trim_url_limit": "longueur", "count": "nombre", "length": "longueur",
                    "leeway": "marge"}


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else _cost(value)


def _joined(iterable: Any, separator_length: int) -> list[Any]:
    """The items of a join (`str.join` or the `join` filter), once its result is known
    to fit."""
    items = list(_counted(iterable))
    _check_result(sum(_cost(item) for item in items)
                  + separator_length * max(len(items) - 1, 0))
    return items


def _check_join(arguments: dict[str, Any]) -> None:
    arguments["value"] = _joined(arguments["value"], _length(arguments.get("d", "")))


def _check_replace(arguments: dict[str, Any]) -> None:
    text, old, new = arguments["s"], arguments["old"], arguments["new"]
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        _check_method(text, "replace", (old, new, arguments.get("count") or -1), {})


def _check_indent(arguments: dict[str, Any]) -> None:
    text, width = arguments["s"], arguments.get("width", 4)
    indent = width if isinstance(width, int) else _length(width)
    _check_width(indent, "indentation de")
    if isinstance(text, str):
        _check_result(len(text) + (text.count("\n") + 1) * max(indent, 0))


def _check_wordwrap(arguments: dict[str, Any]) -> None:
    text, width = arguments["s"], arguments.get("width", 79)
    wrap = arguments.get("wrapstring") or "\n"
    if isinstance(text, str) and isinstance(width, int):
        lines = len(text) // max(width, 1) + text.count("\n") + 1
        _check_result(len(text) + lines * _length(wrap))


def _check_format(arguments: dict[str, Any]) -> None:
    if isinstance(arguments["value"], str):
        _check_percent(arguments["value"], arguments.get("kwargs") or arguments.get("args"))


def _check_urlize(arguments: dict[str, Any]) -> None:
    text = arguments["value"]
    extra = _length(arguments.get("target") or "") + _length(arguments.get("rel") or "")
    if isinstance(text, str):
        # At worst every few characters become a link of ~40 characters plus target and rel.
        _check_result(len(text) * (12 + extra))


def _check_tojson(arguments: dict[str, Any]) -> None:
    indent = arguments.get("indent") or 0
    if isinstance(indent, int):
        if indent > 16:
            raise TemplateTooCostly(f"indentation de {_n(indent)} ; maximum 16")
        _check_result(_cost(arguments["value"]) * (1 + max(indent, 0)))


def _check_sum(arguments: dict[str, Any]) -> None:
    items = list(_counted(arguments["iterable"]))
    arguments["iterable"] = items
    start = arguments.get("start", 0)
    if all(isinstance(v, int | float) for v in (start, *items)):
        return
    # Adding lists or strings copies the running total each time: quadratic.
    running = work = _cost(start)
    for item in items:
        running += _cost(item)
        work += running
        _check_result(running)
    if work > MAX_RENDER:
        raise TemplateTooCostly(f"somme qui recopie {_n(work)} caractères")


_PASSED_NAMES = ("context", "eval_ctx", "environment", "env")
# Filters that only walk their input (each item they give is a counted step) may take a
# list of any size; the others print, join or compare it, and are measured first.
_ITERATING_FILTERS = {"attr", "batch", "count", "d", "default", "first", "items", "last",
                      "length", "list", "map", "random", "reject", "rejectattr", "reverse",
                      "select", "selectattr", "slice"}
_ITERATED = {"value", "seq", "obj"}
# Filters that run Python for each word read a character far slower than the others,
# which take at most ~0.01 µs per character (or per 64th of an item); measured, µs per
# character: wordwrap(5) 2.1, urlize 0.78, title 0.45; pprint 0.024 per 64th of an item.
_SLOW_FILTERS = {"wordwrap": 100, "urlize": 80, "title": 50, "pprint": 3}

_FILTER_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "join": _check_join, "replace": _check_replace, "indent": _check_indent,
    "wordwrap": _check_wordwrap, "format": _check_format, "urlize": _check_urlize,
    "tojson": _check_tojson, "sum": _check_sum,
}


def _bounded_filter(name: str, function: Any) -> Callable[..., Any]:
    """`function` (a Jinja filter or test) with its inputs, widths and result bounded."""
    signature = inspect.signature(function)
    # The context, eval context or environment Jinja passes first is not an input. Jinja's
    # sync/async filters (`list`, `slice`) take it without showing it in their signature.
    first = next(iter(signature.parameters), "")
    passed = getattr(function, "jinja_pass_arg", None) is not None
    skip = 1 if passed and first in _PASSED_NAMES else 0
    hidden = 1 if passed and not skip else 0
    check = _FILTER_CHECKS.get(name)
    weight = _SLOW_FILTERS.get(name, 1)

    @functools.wraps(function)  # keeps `jinja_pass_arg`
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _budget().step()
        head, args = args[:hidden], args[hidden:]
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return function(*head, *args, **kwargs)  # Jinja's own message about them
        for key, value in list(bound.arguments.items())[skip:]:
            if not (key in _ITERATED and name in _ITERATING_FILTERS):
                _sized(value, weight, f" pour le filtre {name}" if weight > 1 else "")
            if key in _WIDTH_ARGUMENTS:
                _check_width(value, f"{_WIDTH_ARGUMENTS[key]} de")
        if check is not None:
            check(bound.arguments)
        result = function(*head, *bound.args, **bound.kwargs)
        if isinstance(result, Iterator) and not isinstance(result, str | bytes):
            return _counted(result)
        return _made(result)

    return bounded


# --- str.format called from a template -------------------------------------------------

class _BoundedFormatter(SandboxedFormatter):
    """`'{:>100000000}'.format(x)`, `'{0}{0}{0}…'.format(big)`: widths and the total
    length are checked field by field, before each is formatted."""

    _size = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._size = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        _sized(value)  # `{0!r}` of a list that holds one long string many times
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        widths = [int(number) for number in re.findall(r"\d+", format_spec)]
        for width in widths:
            _check_width(width, "largeur de")
        self._size += max([_cost(value), *widths])
        _check_result(self._size)
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, SandboxedEscapeFormatter):
    pass


# --- the environment -------------------------------------------------------------------

class _BoundedTemplate(jinja2.Template):
    """A template whose every render has its own budget."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        with _render_budget():
            return super().render(*args, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        # In one piece: a budget set in a generator could outlive the caller's context.
        yield self.render(*args, **kwargs)

    def make_module(self, *args: Any, **kwargs: Any) -> Any:
        with _render_budget():
            return super().make_module(*args, **kwargs)


def _hook(name: str, node: nodes.Node) -> nodes.Call:
    """`environment.<name>(node)` in the compiled template, at the node's line."""
    call = nodes.Call(nodes.EnvironmentAttribute(name), [node], [], None, None)
    call.set_lineno(node.lineno)
    return call


_HOOKS = ("flyer_loop", "flyer_static", "flyer_sized", "flyer_printed")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with every operation a template can make costly bounded.

    - Operators go through `call_binop` (Jinja then never folds them while compiling,
      where `10**(10**8)` would hang before any check), which refuses a result too large
      before computing it.
    - `range()` is bounded; `lipsum()` (seconds of work for one call) is gone. `dict`,
      `namespace`, `cycler` and `joiner` stay: they only hold what they are given.
    - Every loop turn, call, filter, test and include is a step; every value printed,
      joined, concatenated (`~`), compared, sliced or used as a dict key is measured and
      its characters charged, and so is the template's own text: a render has
      MAX_STEPS steps and MAX_RENDER characters.
    The hooks are added to the parsed template (`_parse`), so they cover includes,
    macros, blocks and `{% set %}` captures alike.
    """

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    template_class = _BoundedTemplate

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _bounded_range
        self.globals.pop("lipsum", None)
        self.finalize = _printed
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.tests = {name: _bounded_filter(f"test {name}", f) for name, f in self.tests.items()}

    # Jinja 3.1: `compile()` parses through `_parse`; the tree is changed before
    # the code is generated.
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        template = super()._parse(source, name, filename)
        found = list(template.find_all(
            (nodes.For, nodes.Output, nodes.Concat, nodes.Compare, nodes.Dict, nodes.Getitem)))
        for node in found:
            if isinstance(node, nodes.For):
                node.iter = _hook("flyer_loop", node.iter)
            elif isinstance(node, nodes.Output):
                node.nodes = [
                    _hook("flyer_static", nodes.Const(child.data, lineno=child.lineno))
                    if isinstance(child, nodes.TemplateData) else child
                    for child in node.nodes]
            elif isinstance(node, nodes.Concat):
                node.nodes = [_hook("flyer_printed", child) for child in node.nodes]
            elif isinstance(node, nodes.Compare):
                node.expr = _hook("flyer_sized", node.expr)
                for operand in node.ops:
                    operand.expr = _hook("flyer_sized", operand.expr)
            elif isinstance(node, nodes.Dict):
                for pair in node.items:
                    pair.key = _hook("flyer_sized", pair.key)
            elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
                # Jinja slices without `getitem`: `big[1:]` copies what it reads.
                node.node = _hook("flyer_sized", node.node)
        template.set_environment(self)
        return template

    def flyer_loop(self, iterable: Iterable[Any], **_: Any) -> Iterator[Any]:
        return _counted(iterable)

    def flyer_static(self, text: str, **_: Any) -> Markup:
        # Printed through `finalize`, which charges it: a loop cannot repeat a long
        # stretch of the template's own text unseen.
        return Markup(text)

    def flyer_sized(self, value: Any, **_: Any) -> Any:
        return _sized(value)

    def flyer_printed(self, value: Any, **_: Any) -> Any:
        return _printed(value)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any,
                   right: Any) -> Any:
        _check_binop(operator, left, right)
        return _made(self.binop_table[operator](left, right))

    def call(__self, __context: jinja2.runtime.Context, __obj: Any,
             *args: Any, **kwargs: Any) -> Any:
        if (getattr(__obj, "__self__", None) is __self
                and getattr(__obj, "__name__", None) in _HOOKS):
            return __obj(*args, **kwargs)
        if isinstance(__obj, LoopContext) and args:
            # `loop(children)` in a recursive loop: its turns count like any loop's.
            args = (_counted(args[0]), *args[1:])
        if isinstance(__obj, Macro | LoopContext | BlockReference):
            # Template code: its work is counted as it runs, its text as it is printed.
            _budget().step(TEMPLATE_CALL_STEPS)
            return super().call(__context, __obj, *args, **kwargs)
        _budget().step()
        # Jinja adds the loop's and block's variables to every call it makes there.
        given = {k: v for k, v in kwargs.items() if k not in ("_loop_vars", "_block_vars")}
        for value in (*args, *given.values()):
            _sized(value)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, _VALUE_TYPES):
            _sized(owner)  # `big.count(x)` reads all of it, at each call
            args = _check_method(owner, getattr(__obj, "__name__", ""), args, given)
        return _made(super().call(__context, __obj, *args, **kwargs))

    def _load_template(self, name: str, globals: Any) -> jinja2.Template:
        # Every include, import and extends during a render is a step: a template that
        # includes itself twice would otherwise double its work at each level.
        budget = _BUDGET.get()
        if budget is not None:
            budget.step(TEMPLATE_CALL_STEPS)
        return super()._load_template(name, globals)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja 3.1's `wrap_str_format`, with the bounded formatters."""
        if (not isinstance(value, types.MethodType | types.BuiltinMethodType)
                or value.__name__ not in ("format", "format_map")):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        str_type = type(owner)
        is_format_map = value.__name__ == "format_map"
        formatter: _BoundedFormatter
        if isinstance(owner, Markup):
            formatter = _BoundedEscapeFormatter(self, escape=owner.escape)
        else:
            formatter = _BoundedFormatter(self)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(
                        f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs = args[0]
                args = ()
            return str_type(formatter.vformat(owner, args, kwargs))

        return functools.update_wrapper(wrapper, value)
