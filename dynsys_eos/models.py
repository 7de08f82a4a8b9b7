"""The built-in models: the seed papers' losses and two classic maps.

========================  =========================================================================
name                      model (source)
========================  =========================================================================
``scalar-net``            depth-L scalar network 1/2 (w_L ... w_1 - sigma)^2
``minimalist``            1/2 (1 - x y z w)^2 (Zhu, Wang, Wang, Zhou, Ge)
``minimalist2``           1/4 (1 - x^2 y^2)^2, the coupled two-variable form (same paper)
``uv``                    f = v^T U x / sqrt(n), loss 1/2 (f - y)^2 (Kalra, He, Barkeshli)
``dmf``                   1/2 ||W_L ... W_1 - M||_F^2, M = diag(sigmas) (Ghosh, Kwon, Wang, Ravishankar, Qu)
``logistic``              x -> r x (1 - x)
``henon``                 (x, y) -> (1 - a x^2 + y, b x)
========================  =========================================================================

Parameters are given by name (``build_model("uv", n=4, lr="1.2")``); values
are exact: ints, decimal strings (``"0.1"`` is 1/10), fractions (``"2/3"``),
or simple constant expressions (``"sqrt(2)"``).  A float is read by its
shortest decimal representation (``0.1`` is 1/10).

Examples
--------
>>> m = build_model("scalar-net", depth=3, sigma=2)
>>> m.name, m.state_names
('scalar-net (gd)', ('w1', 'w2', 'w3'))
>>> m.model.flattest_minimum()
[2**(1/3), 2**(1/3), 2**(1/3)]
>>> sorted(CATALOGUE)
['dmf', 'henon', 'logistic', 'minimalist', 'minimalist2', 'scalar-net', 'uv']
"""

from dataclasses import dataclass, field

import sympy

from .errors import ModelError, ParameterError
from .loss import Loss
from .maps import RULES, make_map, raw_map
from .values import exact_value

__all__ = ["ModelParameter", "ModelSpec", "ModelInstance", "CATALOGUE", "build_model"]

R = sympy.Rational


@dataclass(frozen=True)
class ModelParameter:
    """A model parameter. ``structural`` ones (depth, width...) fix the state's shape."""

    name: str
    default: str
    doc: str
    structural: bool = False
    minimum: int = None  # for structural integers


@dataclass(frozen=True)
class ModelSpec:
    """A catalogue entry: how to build the model, its default state and its flattest minimum."""

    name: str
    summary: str
    source: str
    kind: str  # "loss" or "map"
    parameters: tuple
    build: object = field(repr=False)  # structure dict -> (Loss, extra numeric defaults) or Map
    default_state: object = field(repr=False)  # (structure, values) -> list of exact numbers
    flattest_minimum: object = field(default=None, repr=False)  # (structure, values) -> list or None
    default_state_doc: str = ""


@dataclass
class ModelInstance:
    """What a built map knows about the model it came from."""

    spec: ModelSpec
    structure: dict
    values: dict
    rule: str = None
    loss: Loss = None

    def default_state(self):
        """The documented default state (exact), in the map's state order."""
        state = list(self.spec.default_state(self.structure, self.values))
        return state + [sympy.Integer(0)] * len(state) if self.rule == "hb" else state

    def flattest_minimum(self):
        """The minimum with the smallest sharpness, exactly (None if not known for this model)."""
        if self.spec.flattest_minimum is None:
            return None
        return list(self.spec.flattest_minimum(self.structure, self.values))


def _structural_int(spec, value):
    try:
        number = exact_value(value, spec.name)
    except ParameterError:
        raise
    if not number.is_Integer:
        raise ParameterError(f"{spec.name} must be an integer, got {value!r}")
    number = int(number)
    if spec.minimum is not None and number < spec.minimum:
        raise ParameterError(f"{spec.name} must be at least {spec.minimum}, got {number}")
    if number > 64:
        raise ParameterError(f"{spec.name}={number} is too large for an exact model (at most 64)")
    return number


# -- scalar network ------------------------------------------------------------------

def _scalar_net(structure):
    L = structure["depth"]
    w = sympy.symbols(f"w1:{L + 1}", real=True)
    sigma = sympy.Symbol("sigma", real=True)
    return Loss((sympy.Mul(*w) - sigma) ** 2 / 2, w, [sigma], name="scalar-net")


def _scalar_net_flat(structure, values):
    return [values["sigma"] ** R(1, structure["depth"])] * structure["depth"]


def _scalar_net_default(structure, values):
    L = structure["depth"]
    return [R(11, 10)] + [R(1)] * (L - 2) + [R(9, 10)]


# -- minimalist (Zhu et al.) ------------------------------------------------------------

def _minimalist(structure):
    x = sympy.symbols("x y z w", real=True)
    return Loss((1 - sympy.Mul(*x)) ** 2 / 2, x, [], name="minimalist")


def _minimalist2(structure):
    x, y = sympy.symbols("x y", real=True)
    return Loss((1 - x**2 * y**2) ** 2 / 4, [x, y], [], name="minimalist2")


# -- UV model (Kalra et al.) -----------------------------------------------------------

def _uv_symbols(structure):
    n, d = structure["n"], structure["d"]
    U = sympy.Matrix(n, d, lambda i, j: sympy.Symbol(f"U{i + 1}_{j + 1}", real=True))
    v = sympy.Matrix(n, 1, lambda i, j: sympy.Symbol(f"v{i + 1}", real=True))
    x = sympy.Matrix(d, 1, lambda i, j: sympy.Symbol(f"x{i + 1}", real=True))
    return U, v, x


def _uv(structure):
    U, v, x = _uv_symbols(structure)
    y = sympy.Symbol("y", real=True)
    f = (v.T * U * x)[0, 0] / sympy.sqrt(structure["n"])
    state = list(U) + list(v)
    return Loss((f - y) ** 2 / 2, state, list(x) + [y], name="uv")


def _uv_input_defaults(structure):
    return {f"x{j + 1}": sympy.Integer(1 if j == 0 else 0) for j in range(structure["d"])}


def _uv_flat(structure, values):
    """Balanced minimum: U = c 1 x^T/|x|, v = +-c 1 with c^2 = |y| / (|x| sqrt n)."""
    n, d = structure["n"], structure["d"]
    x = [values[f"x{j + 1}"] for j in range(d)]
    norm = sympy.sqrt(sum(xi**2 for xi in x))
    y = values["y"]
    if norm == 0 or y == 0:
        return None
    c = sympy.sqrt(abs(y) / (norm * sympy.sqrt(n)))
    U = [sympy.nsimplify(c * x[j] / norm) for i in range(n) for j in range(d)]
    v = [c * sympy.sign(y)] * n
    return U + v


def _uv_default(structure, values):
    n, d = structure["n"], structure["d"]
    U = [R(1, 2) + R(i, 10) if j == 0 else R(1, 10) for i in range(n) for j in range(d)]
    v = [R(1, 2) - R(i, 20) for i in range(n)]
    return U + v


# -- deep matrix factorization (Ghosh et al.) -------------------------------------------

def _dmf_matrices(structure):
    L, d = structure["depth"], structure["dim"]
    return [sympy.Matrix(d, d, lambda i, j, l=l: sympy.Symbol(f"W{l + 1}_{i + 1}_{j + 1}", real=True)) for l in range(L)]


def _dmf(structure):
    Ws = _dmf_matrices(structure)
    d = structure["dim"]
    sigmas = sympy.symbols(f"sigma1:{d + 1}", real=True)
    product = Ws[0]
    for W in Ws[1:]:
        product = W * product  # W_L ... W_1, built factor by factor: no expansion
    residual = product - sympy.diag(*sigmas)
    loss = sum(e**2 for e in residual) / 2
    state = [s for W in Ws for s in W]
    return Loss(loss, state, sigmas, name="dmf")


def _dmf_sigmas(structure, values):
    return [values[f"sigma{i + 1}"] for i in range(structure["dim"])]


def _dmf_flat(structure, values):
    L, d = structure["depth"], structure["dim"]
    roots = [s ** R(1, L) for s in _dmf_sigmas(structure, values)]
    return [roots[i] if i == j else sympy.Integer(0) for _ in range(L) for i in range(d) for j in range(d)]


def _dmf_default(structure, values):
    L, d = structure["depth"], structure["dim"]
    roots = [sympy.Rational(11, 10) * s ** R(1, L) for s in _dmf_sigmas(structure, values)]
    return [roots[i] if i == j else R(1, 20) for _ in range(L) for i in range(d) for j in range(d)]


# -- classic maps ---------------------------------------------------------------------------

def _logistic(structure):
    x, r = sympy.symbols("x r", real=True)
    return raw_map([r * x * (1 - x)], [x], [r], name="logistic")


def _henon(structure):
    x, y, a, b = sympy.symbols("x y a b", real=True)
    return raw_map([1 - a * x**2 + y, b * x], [x, y], [a, b], name="henon")


_LR_DOC = "learning rate"

CATALOGUE = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "scalar-net", "depth-L scalar network 1/2 (w_L...w_1 - sigma)^2",
            "deep scalar linear network; the flattest minimum w_i = sigma^(1/L) has sharpness L sigma^(2-2/L)",
            "loss",
            (ModelParameter("depth", "3", "number of layers L (>= 2)", True, 2),
             ModelParameter("sigma", "1", "target"),
             ModelParameter("lr", "7/10", _LR_DOC)),
            _scalar_net, _scalar_net_default, _scalar_net_flat,
            "w = (1.1, 1, ..., 1, 0.9)",
        ),
        ModelSpec(
            "minimalist", "1/2 (1 - x y z w)^2",
            "Zhu, Wang, Wang, Zhou, Ge: Understanding Edge-of-Stability Training Dynamics with a Minimalist Example",
            "loss", (ModelParameter("lr", "11/20", _LR_DOC),),
            _minimalist, lambda s, v: [R(6, 5), R(1), R(1), R(9, 10)], lambda s, v: [sympy.Integer(1)] * 4,
            "(1.2, 1, 1, 0.9)",
        ),
        ModelSpec(
            "minimalist2", "1/4 (1 - x^2 y^2)^2",
            "Zhu, Wang, Wang, Zhou, Ge (the coupled two-variable form)",
            "loss", (ModelParameter("lr", "11/20", _LR_DOC),),
            _minimalist2, lambda s, v: [R(6, 5), R(9, 10)], lambda s, v: [sympy.Integer(1)] * 2,
            "(1.2, 0.9)",
        ),
        ModelSpec(
            "uv", "f = v^T U x / sqrt(n), loss 1/2 (f - y)^2 on one example",
            "Kalra, He, Barkeshli: Universal Sharpness Dynamics in Neural Network Training; critical lr_c = sqrt(n)/(|x| |y|)",
            "loss",
            (ModelParameter("n", "4", "width", True, 1),
             ModelParameter("d", "1", "input dimension", True, 1),
             ModelParameter("y", "2", "target"),
             ModelParameter("lr", "11/10", _LR_DOC),
             ModelParameter("x1..xd", "1, 0, ..., 0", "the input x (norm 1 unless given)")),
            _uv, _uv_default, _uv_flat,
            "U_i1 = 0.5 + 0.1 (i - 1), other U entries 0.1, v_i = 0.5 - 0.05 (i - 1)",
        ),
        ModelSpec(
            "dmf", "1/2 ||W_L ... W_1 - diag(sigmas)||_F^2 with d x d factors",
            "Ghosh, Kwon, Wang, Ravishankar, Qu: Learning Dynamics of Deep Linear Networks Beyond the Edge of Stability",
            "loss",
            (ModelParameter("depth", "3", "number of factors L (>= 2)", True, 2),
             ModelParameter("dim", "2", "size d of the square factors", True, 1),
             ModelParameter("sigmas", "d, d-1, ..., 1", "singular values of the target (comma-separated; sets sigma1..sigmad)"),
             ModelParameter("lr", "1/10", _LR_DOC)),
            _dmf, _dmf_default, _dmf_flat,
            "W_l = 1.1 diag(sigmas^(1/L)) with 0.05 off the diagonal",
        ),
        ModelSpec(
            "logistic", "x -> r x (1 - x)", "the logistic map (May 1976); flips at r = 3, 1 + sqrt(6), ...",
            "map", (ModelParameter("r", "16/5", "growth rate"),),
            _logistic, lambda s, v: [R(1, 2)], None, "x = 0.5",
        ),
        ModelSpec(
            "henon", "(x, y) -> (1 - a x^2 + y, b x)", "the Henon map (Henon 1976)",
            "map", (ModelParameter("a", "7/5", "nonlinearity (quadratic coefficient)"),
                   ModelParameter("b", "3/10", "contraction (Jacobian determinant is -b)")),
            _henon, lambda s, v: [R(3, 5), R(1, 5)], None, "(0.6, 0.2)",
        ),
    ]
}


def build_model(name, rule="gd", **parameters):
    """Build a catalogue model as a :class:`~dynsys_eos.maps.Map`.

    Parameters
    ----------
    name : str
        A key of :data:`CATALOGUE`.
    rule : str
        Update rule for loss models (``gd``, ``ngd``, ``sqrt``, ``hb``);
        for a raw map (logistic, henon) any rule other than the default is an error.
    **parameters
        Structural parameters and default values of numeric parameters.

    Raises
    ------
    ModelError, ParameterError
        For an unknown model, rule or parameter, or a value out of its domain.
    """
    if name not in CATALOGUE:
        raise ModelError(f"unknown model {name!r}; valid: {', '.join(CATALOGUE)}")
    spec = CATALOGUE[name]
    structure, numeric = {}, {}
    given = dict(parameters)
    for p in spec.parameters:
        if p.structural:
            structure[p.name] = _structural_int(p, given.pop(p.name, p.default))
    if name == "dmf":
        d = structure["dim"]
        text = given.pop("sigmas", None)
        sigmas = _parse_sigmas(text, d) if text is not None else [sympy.Integer(d - i) for i in range(d)]
        numeric.update({f"sigma{i + 1}": s for i, s in enumerate(sigmas)})
    if name == "uv":
        numeric.update(_uv_input_defaults(structure))
    for p in spec.parameters:
        if not p.structural and p.name in ("sigma", "y", "lr", "r", "a", "b"):
            numeric[p.name] = exact_value(p.default, p.name)
    for key, value in given.items():
        numeric[key] = exact_value(value, key)

    if spec.kind == "map":
        if rule not in (None, "gd"):
            raise ModelError(f"{name} is a map, not a loss: an update rule ({rule!r}) does not apply")
        map_ = spec.build(structure)
        rule = None
    else:
        if rule not in RULES:
            raise ModelError(f"unknown update rule {rule!r}; valid: {', '.join(RULES)}")
        loss = spec.build(structure)
        map_ = make_map(loss, rule)
    unknown = sorted(set(numeric) - set(map_.parameter_names))
    if unknown:
        valid = sorted(set(map_.parameter_names) | {p.name for p in spec.parameters if p.structural}
                       | ({"sigmas"} if name == "dmf" else set()))
        raise ParameterError(f"model {name!r} has no parameter(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    map_.defaults.update(numeric)
    map_.model = ModelInstance(spec, structure, dict(map_.parameter_values()), rule, getattr(map_, "loss", None))
    map_.check_finite_at(map_.model.default_state())
    return map_


def _parse_sigmas(text, d):
    if isinstance(text, (list, tuple)):
        values = [exact_value(v, "sigmas") for v in text]
    else:
        from .parse import parse_vector

        try:
            values = list(parse_vector(str(text)))
        except Exception as exc:  # ParseError: name the parameter
            raise ParameterError(f"sigmas={text!r}: {exc}") from None
    if len(values) != d:
        raise ParameterError(f"sigmas has {len(values)} value(s) but dim={d} needs {d}")
    return values
