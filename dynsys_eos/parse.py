"""Safe parsing of user-supplied expressions into exact sympy objects.

Strings from the command line are never given to ``eval``, ``exec``,
``sympy.sympify`` or ``sympy.parse_expr``: those run arbitrary Python code
(``sympify("__import__('os').system('...')")`` executes the command).  Instead
the text is parsed with :func:`ast.parse` (which only builds a syntax tree),
the tree is walked against an explicit whitelist -- numbers, declared names,
the constants ``pi`` and ``E``, ``+ - * / **``, unary ``+``/``-`` and calls of
:data:`ALLOWED_FUNCTIONS` -- and the sympy expression is built node by node.

Numbers are exact: ``0.1`` becomes ``Rational(1, 10)`` from its decimal text,
never via a binary float.  Guards stop inputs that would make sympy build
giant numbers (``9**9**9``), factor huge radicands, evaluate towers such as
``exp(exp(exp(100)))`` in floating point, or recurse without end (see the
``MAX_*`` limits below).  They estimate sizes conservatively and may reject an
expression that would have been cheap; they never truncate or guess.  They
cover the known blow-ups, not every slow path inside sympy.  Every failure is
a :class:`~dynsys_eos.errors.ParseError` with a one-line message.
"""

import ast
import itertools
import keyword
import math
import re
import unicodedata
import warnings
from types import MappingProxyType

import sympy

from dynsys_eos.errors import ParseError

__all__ = ["ALLOWED_FUNCTIONS", "CONSTANTS", "parse_assignments", "parse_expression",
           "parse_map", "parse_names", "parse_number", "parse_vector"]

#: Callable names -> sympy functions; each takes exactly one argument.
ALLOWED_FUNCTIONS = MappingProxyType(
    {name: getattr(sympy, name) for name in ("exp", "log", "sqrt", "sin", "cos", "tan",
                                             "sinh", "cosh", "tanh", "atan", "asin", "acos")}
    | {"abs": sympy.Abs})
#: Constant names -> sympy constants.
CONSTANTS = MappingProxyType({"pi": sympy.pi, "E": sympy.E})

MAX_TEXT_LENGTH = 20000  # characters
MAX_DEPTH = 200          # nesting of brackets, calls, unary operators and powers
MAX_LITERAL_DIGITS = 1000
MAX_EXPONENT = 10000     # |n| in any power b**n with a rational n
MAX_BITS = 100000        # largest number a power or product may create
MAX_ROOT_BITS = 2048     # sympy factors radicands; keep them small
MAX_MAGNITUDE = 2 ** 17  # bound on |log2 |v|| of any numeric value v

_INT_LIMIT = 10 ** MAX_LITERAL_DIGITS
_FLOAT_RE = re.compile(r"([0-9_]*)(?:\.([0-9_]*))?(?:[eE]([+-]?[0-9_]+))?")
_NOT_FINITE = (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)
_BINOP_SYMBOLS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
    ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&",
}
_NODE_NAMES = {  # what to call a rejected construct in a message
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension",
    ast.DictComp: "comprehension", ast.GeneratorExp: "generator expression",
    ast.IfExp: "conditional expression", ast.Compare: "comparison",
    ast.BoolOp: "boolean operator", ast.NamedExpr: "assignment expression",
    ast.JoinedStr: "f-string", ast.Starred: "starred expression", ast.Await: "await",
}
_EXP_LIKE = (sympy.exp, sympy.sinh, sympy.cosh)
_LOG2_E = 1.4427
_LITERAL_NAMES = {str: "string literal", bytes: "bytes literal", bool: "boolean literal",
                  complex: "complex literal"}


def _one_line(text, limit=60):
    """Collapse whitespace and shorten `text` so that messages stay on one line."""
    try:
        text = str(text)
    except Exception:  # noqa: BLE001 (sympy's str of a huge number raises ValueError)
        text = f"<{type(text).__name__}>"
    text = " ".join(text.split())
    # Escape control characters and lone surrogates so the message can be printed.
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bits(number):
    """Bit size of a sympy Rational (numerator plus denominator)."""
    return abs(number.p).bit_length() + number.q.bit_length()


def _number_text(number):
    """A number for a message; huge ones by size (str() of them may fail)."""
    return str(number) if _bits(number) <= 200 else f"of about {_bits(number)} bits"


def _max_bits(expr):
    return max((_bits(r) for r in expr.atoms(sympy.Rational)), default=0)


def _root_bits(expr):
    """Total bit size of numeric radicands such as the 2 in sqrt(2)."""
    return sum(_bits(p.base) for p in expr.atoms(sympy.Pow)
               if p.base.is_Rational and p.exp.is_Rational and not p.exp.is_Integer)


def _check_power(base, exponent, where):
    """Refuse a power that would make sympy compute a giant number or factor one.

    `where` is a callable giving the source snippet; it is only called when
    raising, because slicing the source for every node is quadratic.
    """
    if not exponent.is_Rational:
        return                       # symbolic or irrational: sympy leaves it alone
    if abs(exponent) > MAX_EXPONENT:
        raise ParseError(f"exponent {_number_text(exponent)} in {where()} exceeds "
                         f"{MAX_EXPONENT} in absolute value")
    size = _max_bits(base) + _root_bits(base)
    estimate = int(abs(exponent) * size)
    if estimate > MAX_BITS:
        raise ParseError(f"power {where()} would create a number of about "
                         f"{estimate} bits (limit {MAX_BITS})")
    # For b**(p/q) sympy builds radicands up to b**(q-1) and factors them.
    if not exponent.is_Integer and (exponent.q - 1) * size > MAX_ROOT_BITS:
        raise ParseError(f"root {where()} would need factoring a number of about "
                         f"{(exponent.q - 1) * size} bits (limit {MAX_ROOT_BITS})")


def _exp_bound(bound):
    """|log2 exp(x)| for |x| <= 2**bound."""
    return _LOG2_E * 2.0 ** min(bound, 1000)


def _check_exp(argument, where):
    """exp(c*log(b)) evaluates to b**c, so apply the power guard to c and b."""
    for term in sympy.Add.make_args(argument):
        if term.has(sympy.log):
            coefficient, rest = term.as_coeff_Mul()
            _check_power(rest, coefficient, where)


def _check_complex(argument, where):
    """abs/log of a complex number compute a square root of |z|**2."""
    if (argument.is_number and argument.is_extended_real is not True
            and 2 * (_max_bits(argument) + _root_bits(argument)) > MAX_ROOT_BITS):
        raise ParseError(f"complex number in {where()} is too large (limit "
                         f"{MAX_ROOT_BITS // 2} bits)")


def _float_value(segment):
    """Exact Rational of a float literal's decimal text, e.g. '1e-3' -> 1/1000."""
    match = _FLOAT_RE.fullmatch(segment or "")
    if match is None:
        raise ParseError(f"cannot read the number literal {_one_line(segment)}")
    whole, fraction, exponent = (part.replace("_", "") if part else ""
                                 for part in match.groups())
    digits = (whole + fraction).lstrip("0") or "0"
    if len(digits) > MAX_LITERAL_DIGITS or len(exponent) > 6:
        raise ParseError(f"number literal {_one_line(segment)} has too many digits")
    shift = int(exponent or 0) - len(fraction)
    if abs(shift) > MAX_LITERAL_DIGITS:
        raise ParseError(f"number literal {_one_line(segment)} is too large or too "
                         f"small (exponent limit {MAX_LITERAL_DIGITS})")
    if shift >= 0:
        return sympy.Integer(int(digits) * 10 ** shift)
    return sympy.Rational(int(digits), 10 ** -shift)


class _Builder:
    """Walk a syntax tree, allowing only whitelisted nodes, and build sympy."""

    def __init__(self, source, symbols, number_only):
        self.source = source
        self.symbols = symbols
        self.number_only = number_only
        self.magnitudes = {}

    def magnitude(self, expr):
        """Heuristic bound on |log2 |value|| of a numeric `expr`; None if symbolic.

        sympy evaluates numbers in floating point to compare them, and mpmath
        then needs about this many bits; exp(exp(exp(100))) would never finish.
        Sums may cancel, so a sum's bound adds its terms' bounds.
        """
        if expr in self.magnitudes:
            return self.magnitudes[expr]
        if expr.is_Rational:
            bound = math.log2(max(abs(expr.p), expr.q))
        elif expr.is_Atom:
            bound = 2 if expr.is_number else None      # pi, E, I
        else:
            parts = [self.magnitude(arg) for arg in expr.args]
            if None in parts:
                bound = None
            elif expr.is_Pow and expr.exp.is_Rational:
                bound = float(abs(expr.exp)) * parts[0]
            elif expr.is_Pow:          # |log2 b**e| = |e| * |log2 b|
                bound = _exp_bound(parts[1]) / _LOG2_E * parts[0]
            elif isinstance(expr, _EXP_LIKE):
                bound = _exp_bound(parts[0])
            elif expr.is_Mul:
                bound = sum(parts)
            else:                      # sums may cancel; sin(x) may be tiny
                bound = sum(parts) + math.log2(len(parts)) + 2
        self.magnitudes[expr] = bound
        return bound

    def snippet(self, node):
        segment = ast.get_source_segment(self.source, node)
        return _one_line(segment if segment else type(node).__name__)

    def build(self, node, depth):
        if depth > MAX_DEPTH:
            raise ParseError(f"expression is nested deeper than {MAX_DEPTH} levels")
        handler = getattr(self, "_" + type(node).__name__, None)
        if handler is None:
            what = _NODE_NAMES.get(type(node), type(node).__name__)
            hint = " (separate components with ';')" if isinstance(node, ast.Tuple) else ""
            raise ParseError(f"{what} is not allowed: {self.snippet(node)}{hint}")
        value = handler(node, depth)
        bound = self.magnitude(value)
        if bound is not None and bound > MAX_MAGNITUDE:
            raise ParseError(f"number {self.snippet(node)} may be too large or too small "
                             f"to evaluate (about 2**{int(bound)}; limit 2**{MAX_MAGNITUDE})")
        return value

    def _check_exp_argument(self, argument, where, log2_base=_LOG2_E, what="argument"):
        """Refuse exp(x), b**x of a huge number x before sympy tries to evaluate it."""
        bound = self.magnitude(argument)
        if bound is not None and _exp_bound(bound) / _LOG2_E * log2_base > MAX_MAGNITUDE:
            size = f"{2.0 ** bound:.3g}" if bound < 1000 else f"2**{int(bound)}"
            raise ParseError(f"{where()} is too large to evaluate safely: its {what} "
                             f"may reach {size} (the result's |log2| is limited "
                             f"to {MAX_MAGNITUDE})")

    def _Constant(self, node, depth):
        value = node.value
        if type(value) is int:           # bool is a subclass of int: excluded
            if abs(value) >= _INT_LIMIT:
                raise ParseError(f"integer literal has more than "
                                 f"{MAX_LITERAL_DIGITS} digits")
            return sympy.Integer(value)
        if type(value) is float:
            return _float_value(ast.get_source_segment(self.source, node))
        kind = _LITERAL_NAMES.get(type(value), "literal")
        raise ParseError(f"{kind} is not allowed: {self.snippet(node)}")

    def _Name(self, node, depth):
        name = node.id
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in ALLOWED_FUNCTIONS:
            raise ParseError(f"function '{name}' must be called, as in {name}(x)")
        if self.number_only:
            raise ParseError(f"a number was expected but the name '{name}' appeared")
        declared = ", ".join(self.symbols) or "none"
        raise ParseError(f"undeclared name '{name}' (declared: {declared})")

    def _UnaryOp(self, node, depth):
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand, depth + 1)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand, depth + 1)
        symbol = "not" if isinstance(node.op, ast.Not) else "~"
        raise ParseError(f"operator '{symbol}' is not allowed: {self.snippet(node)}")

    def _BinOp(self, node, depth):
        op = type(node.op)
        if op is ast.BitXor:
            raise ParseError(f"operator '^' is not allowed; use '**' for powers: "
                             f"{self.snippet(node)}")
        if op in _BINOP_SYMBOLS:
            raise ParseError(f"operator '{_BINOP_SYMBOLS[op]}' is not allowed "
                             f"(allowed: + - * / **): {self.snippet(node)}")
        if op is ast.Pow:
            base = self.build(node.left, depth + 1)
            exponent = self.build(node.right, depth + 1)
            return self._power(base, exponent, lambda: self.snippet(node))
        # Long chains like a+b+c+... nest on the left; walk that spine with a
        # loop so a 5000-term sum is neither "deep" nor quadratic in sympy.
        group = (ast.Add, ast.Sub) if op in (ast.Add, ast.Sub) else (ast.Mult, ast.Div)
        rights = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, group):
            rights.append(node)
            node = node.left
        operands = [self.build(node, depth + 1)]
        for parent in reversed(rights):
            operand = self.build(parent.right, depth + 1)
            if isinstance(parent.op, ast.Sub):
                operand = -operand
            elif isinstance(parent.op, ast.Div):
                operand = sympy.Pow(operand, -1)
            operands.append(operand)
        if group[0] is ast.Add:
            return sympy.Add(*operands)
        return self._product(operands, lambda: self.snippet(rights[0]))

    def _power(self, base, exponent, where):
        _check_power(base, exponent, where)
        if base == sympy.E or isinstance(base, sympy.exp):
            inner = base.args[0] if isinstance(base, sympy.exp) else sympy.S.One
            _check_exp(inner * exponent, where)
        if not exponent.is_Rational and self.magnitude(base) is not None:
            self._check_exp_argument(exponent, where, self.magnitude(base), "exponent")
        return sympy.Pow(base, exponent)   # (x**100)**1000: caught in _parse

    @staticmethod
    def _product(factors, where):
        size = sum(_max_bits(f) for f in factors)
        if size > MAX_BITS:
            raise ParseError(f"product {where()} would create a number of about "
                             f"{size} bits (limit {MAX_BITS})")
        if sum(_root_bits(f) for f in factors) > MAX_ROOT_BITS:
            raise ParseError(f"product {where()} combines roots of numbers that "
                             f"are too large (limit {MAX_ROOT_BITS} bits)")
        return sympy.Mul(*factors)

    def _Call(self, node, depth):
        func = node.func
        if not isinstance(func, ast.Name):
            raise ParseError(f"call of {self.snippet(func)} is not allowed "
                             f"(allowed functions: {', '.join(ALLOWED_FUNCTIONS)})")
        name = func.id
        if name not in ALLOWED_FUNCTIONS:
            what = "constant" if name in CONSTANTS else (
                "declared name" if name in self.symbols else "unknown function")
            raise ParseError(f"call of {what} '{name}' is not allowed "
                             f"(allowed functions: {', '.join(ALLOWED_FUNCTIONS)})")
        if node.keywords:
            bad = f"{node.keywords[0].arg}=" if node.keywords[0].arg else "**"
            raise ParseError(f"function '{name}' takes no keyword arguments (got '{bad}')")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ParseError(f"starred argument is not allowed in {self.snippet(node)}")
        if len(node.args) != 1:
            raise ParseError(f"function '{name}' takes exactly one argument "
                             f"(got {len(node.args)})")
        argument = self.build(node.args[0], depth + 1)

        def where():
            return self.snippet(node)
        if name in ("exp", "sinh", "cosh", "tanh"):
            _check_exp(argument, where)
            self._check_exp_argument(argument, where)
        elif name == "sqrt":
            _check_power(argument, sympy.S.Half, where)
        elif name in ("abs", "log"):
            _check_complex(argument, where)
        return ALLOWED_FUNCTIONS[name](argument)


def _check_text(text, what="expression"):
    if not isinstance(text, str):
        raise ParseError(f"{what} must be a string, not {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise ParseError(f"{what} is longer than {MAX_TEXT_LENGTH} characters")
    if not text.strip():
        raise ParseError(f"{what} is empty")
    return text.strip()


def _bracket_depth(text):
    steps = ((char in "([{") - (char in ")]}") for char in text)
    return max(itertools.accumulate(steps), default=0)


def _parse(text, symbols, number_only):
    """Shared body of parse_expression/parse_number: any failure -> ParseError."""
    source = _check_text(text)
    try:
        for name in symbols:
            if name in CONSTANTS or name in ALLOWED_FUNCTIONS:
                raise ParseError(f"declared name '{name}' clashes with a "
                                 f"built-in constant or function")
        if _bracket_depth(source) > MAX_DEPTH:
            raise ParseError(f"expression is nested deeper than {MAX_DEPTH} levels")
        try:
            with warnings.catch_warnings():   # e.g. invalid escapes in strings
                warnings.simplefilter("ignore")
                tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            column = f" at column {exc.offset}" if exc.offset else ""
            raise ParseError(f"invalid syntax{column}: {_one_line(exc.msg, 100)} "
                             f"in {_one_line(source)}") from None
        result = _Builder(source, symbols, number_only).build(tree.body, 0)
        if result.has(*_NOT_FINITE):
            raise ParseError(f"expression is not finite (division by zero?): "
                             f"{_one_line(source)}")
        for power in result.atoms(sympy.Pow):
            if power.exp.is_Rational and abs(power.exp) > MAX_EXPONENT:
                raise ParseError(f"exponent {_number_text(power.exp)} in the result "
                                 f"of {_one_line(source)} exceeds {MAX_EXPONENT}")
        if number_only and result.is_real is not True:
            raise ParseError(f"not a real number: {_one_line(source)}")
        return result
    except ParseError:
        raise
    except (RecursionError, MemoryError):
        raise ParseError(f"expression is too deeply nested or too long: "
                         f"{_one_line(source)}") from None
    except Exception as exc:                  # e.g. a TypeError deep in sympy
        raise ParseError(f"could not build {_one_line(source)}: "
                         f"{type(exc).__name__}: {_one_line(exc, 100)}") from exc


def parse_expression(text, symbols):
    """Parse `text` into a sympy expression in the declared `symbols`.

    Parameters
    ----------
    text : str
        Expression using numbers, declared names, ``pi``, ``E``,
        ``+ - * / **``, parentheses and calls of :data:`ALLOWED_FUNCTIONS`.
    symbols : Mapping[str, sympy.Symbol]
        The declared names.

    Returns
    -------
    sympy.Expr
        The exact, finite expression.

    Raises
    ------
    ParseError
        For anything else, naming the offending construct; also for a result
        that is not finite (``1/0``, ``log(0)``) or that exceeds a ``MAX_*``
        limit of this module (``2**100000``, ``x**20000``, ``exp(10**30)``).

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> parse_expression("0.1*x**2 - sin(y)/3", {"x": x, "y": y})
    x**2/10 - sin(y)/3
    >>> parse_expression("x^2", {"x": x})
    Traceback (most recent call last):
    ...
    dynsys_eos.errors.ParseError: operator '^' is not allowed; use '**' for powers: x^2
    """
    return _parse(text, symbols, number_only=False)


def parse_number(text):
    """Parse a constant expression into an exact real sympy number.

    Parameters
    ----------
    text : str
        Numbers, ``pi``, ``E``, operators and functions; no names.

    Returns
    -------
    sympy.Expr
        An exact real number such as ``Rational(1, 3)`` or ``sqrt(2)/2``.

    Raises
    ------
    ParseError
        If the text is malformed, contains a name, or is not real.

    Examples
    --------
    >>> parse_number("1/3"), parse_number("-1.5e2"), parse_number("sqrt(2)/2")
    (1/3, -150, sqrt(2)/2)
    """
    return _parse(text, {}, number_only=True)


def _split(text, separator, what):
    """Split on `separator`; every part must be non-empty."""
    text = _check_text(text, what)
    parts = [part.strip() for part in text.split(separator)]
    for index, part in enumerate(parts, 1):
        if not part:
            raise ParseError(f"{what} part {index} is empty in {_one_line(text)}")
    return parts


def _parse_parts(text, separator, what, label, parse):
    """Parse each part of `text`; errors say which part failed."""
    result = []
    for index, part in enumerate(_split(text, separator, what), 1):
        try:
            result.append(parse(part))
        except ParseError as exc:
            raise ParseError(f"{label} {index}: {exc}") from None
    return tuple(result)


def _check_name(name):
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ParseError(f"'{_one_line(name)}' is not a valid name")
    if unicodedata.normalize("NFKC", name) != name:
        raise ParseError(f"name '{name}' is not in normal form; write "
                         f"'{unicodedata.normalize('NFKC', name)}'")
    if name in ALLOWED_FUNCTIONS or name in CONSTANTS:
        raise ParseError(f"name '{name}' is reserved for a built-in function or constant")
    return name


def parse_names(text):
    """Parse comma-separated identifiers into a tuple of distinct names.

    Parameters
    ----------
    text : str
        Such as ``"x, y"``.  Each name must be an identifier in NFKC normal
        form, not a Python keyword, function or constant name.

    Returns
    -------
    tuple of str
        At least one name, in the given order.

    Raises
    ------
    ParseError
        For an invalid, reserved, duplicate or empty name.

    Examples
    --------
    >>> parse_names("x,y, z1")
    ('x', 'y', 'z1')
    """
    names = tuple(_check_name(part) for part in _split(text, ",", "name list"))
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ParseError(f"duplicate name '{name}'")
    return names


def parse_assignments(text):
    """Parse ``"a=1, b=2/3"`` into a dict of exact real numbers.

    Parameters
    ----------
    text : str
        Comma-separated ``name=value`` parts.  Names are checked as in
        :func:`parse_names`, values parsed with :func:`parse_number`.  Values
        cannot contain commas (none of the allowed functions needs one).

    Returns
    -------
    dict
        Name -> exact sympy number, in the given order.

    Raises
    ------
    ParseError
        For a missing ``=``, an empty part, a bad or duplicate name, or a bad value.

    Examples
    --------
    >>> parse_assignments("a=1, b=2/3, c=sqrt(2)")
    {'a': 1, 'b': 2/3, 'c': sqrt(2)}
    """
    values = {}
    for part in _split(text, ",", "assignment list"):
        name, equals, value = part.partition("=")
        if not equals:
            raise ParseError(f"missing '=' in assignment {_one_line(part)}")
        name = _check_name(name.strip())
        if name in values:
            raise ParseError(f"duplicate name '{name}'")
        try:
            values[name] = parse_number(value)
        except ParseError as exc:
            raise ParseError(f"value of '{name}': {exc}") from None
    return values


def parse_map(text, symbols):
    """Parse ``"EXPR1; EXPR2"`` into a tuple of expressions.

    Parameters
    ----------
    text : str
        Expressions separated by ``;``, each as in :func:`parse_expression`.
    symbols : Mapping[str, sympy.Symbol]
        The declared names.

    Returns
    -------
    tuple of sympy.Expr

    Raises
    ------
    ParseError
        For an empty or invalid component (the message gives its number).

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> parse_map("y; -x + y/2", {"x": x, "y": y})
    (y, -x + y/2)
    """
    return _parse_parts(text, ";", "map", "component",
                        lambda part: parse_expression(part, symbols))


def parse_vector(text):
    """Parse ``"0.5, 1/3, -2"`` into a tuple of exact real numbers.

    Parameters
    ----------
    text : str
        Comma-separated entries, each as in :func:`parse_number`.

    Returns
    -------
    tuple of sympy.Expr

    Raises
    ------
    ParseError
        For an empty or invalid entry (the message gives its number).

    Examples
    --------
    >>> parse_vector("0.5, 1/3, -2")
    (1/2, 1/3, -2)
    """
    return _parse_parts(text, ",", "vector", "entry", parse_number)
