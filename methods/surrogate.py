"""Global surrogate methods: distil ``f`` into an interpretable student, explain the student.

``tree_surrogate`` fits a decision tree (Breiman et al. 1984; "born-again" / model-extraction
surrogates, e.g. Craven & Shavlik 1996) and attributes with exact TreeSHAP (Lundberg et al. 2020);
``linear_surrogate`` fits a sparse linear model (Lasso, Tibshirani 1996) and attributes
``φ = β ⊙ (x − b)``. Unlike LIME these students are *global*: one student per call and per
distinct output selector (class), so an instance's explanation depends neither on its batch-mates
nor on where it lies — only on the task, the selector chosen at it and the seed.

**Distillation set** (what the students are fitted on, ``n_samples`` points, shared by every
instance): the task baseline ``b``; every background row; then background rows (cycling through
them) with each player (feature or group) independently switched to the baseline with probability
½: ``mix(x_bg, b, m)``, ``m ~ Bernoulli(½)`` per player, drawn by :func:`xaibench.rng.shared_bernoulli`.
These hybrids are exactly the points at which baseline attributions evaluate the student, so the
student is trained where it is queried. The explained instances are *not* in the set (that would
make an explanation depend on its batch). The target is ``f(·, s)`` with ``s`` the selector chosen
at the explained instance; one student per distinct ``s``.

**Held-out fidelity** (:func:`fidelity_complexity_curve`): R² of the student against ``f`` on the
explained instances ``task.inputs`` and ``n_heldout - 1`` hybrids of each with the baseline (fresh
draws), target ``f(·, s_i)`` at instance ``i``'s selector; R² is computed per selector and averaged
weighted by the number of points (pooling selectors would credit the student for between-class
differences in ``f``).

The students are sklearn/shap models fitted on the CPU: this is the one place in the methods where
a NumPy round trip is accepted (fitting a tree is not a tensor operation); ``f`` itself is evaluated
batched on the task's device.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.method import Method, register_method
from xaibench.methods.lime import evaluate_per_selector
from xaibench.players import mix
from xaibench.rng import shared_bernoulli
from xaibench.task import BoundTarget, Task
from xaibench.tensorstats import r_squared
from xaibench.tolerance import rtol

HELDOUT_STREAM = 0x5EED_0F_4E1D  # offsets the seed of the held-out draws from the distillation draws


@dataclass(frozen=True)
class Student:
    """A fitted student of ``f(·, selector)``; ``predict`` and ``attribute`` take ``(B, F)`` float64 NumPy rows."""

    selector: int
    model: Any
    complexity: dict[str, int]
    attribute: Any  # (rows) -> (rows' attributions)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self.model(rows)


@dataclass(frozen=True)
class Surrogate(Method):
    """Base of the global surrogate methods (not registered): distillation set, one student per selector."""

    family: ClassVar[str] = "surrogate"
    stochastic: ClassVar[bool] = True

    n_samples: int = 2000

    def __post_init__(self) -> None:
        if self.n_samples < 2:
            raise InvalidParameterError(f"{self.name}: n_samples must be at least 2, got {self.n_samples}")

    @abstractmethod
    def fit_student(self, task: Task, rows: np.ndarray, targets: np.ndarray, selector: int) -> Student:
        """Fit the student on ``rows`` ``(n, F)`` → ``targets`` ``(n,)``."""

    def fit_students(self, task: Task, targets: DistillationTargets) -> dict[int, Student]:
        """One student per selector, all on the same distillation points."""
        rows = _numpy_rows(targets.points)
        return {s: self.fit_student(task, rows, v.double().cpu().numpy(), s)
                for s, v in zip(targets.selectors.tolist(), targets.values)}

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        bound = task.bind(x)
        students = self.fit_students(task, distillation_targets(bound, self.n_samples, seed))
        selector = bound.selector.cpu().numpy()
        rows = _numpy_rows(x)
        out = np.zeros_like(rows)
        for s, student in students.items():  # one call per distinct selector, not per instance
            out[selector == s] = student.attribute(rows[selector == s])
        return torch.as_tensor(out, dtype=x.dtype, device=x.device).reshape(x.shape)


@register_method
@dataclass(frozen=True)
class TreeSurrogate(Surrogate):
    """Decision-tree student (sklearn ``DecisionTreeRegressor(max_depth, random_state=0)``) explained by TreeSHAP.

    Attributions: ``feature_perturbation="interventional"`` (default): shap's exact interventional
    TreeSHAP against the single reference row ``b`` (the task baseline), i.e. the baseline Shapley
    values of the tree, ``Σφ = g(x) − g(b)`` — the same reference as the benchmark's other baseline
    methods. ``"tree_path_dependent"``: shap's path-dependent TreeSHAP, which weighs branches by the
    distillation set's node counts (``Σφ = g(x) − E[g]`` over that set); it needs no reference row
    but mixes the training distribution into the explanation.

    Targets on a grid (:func:`on_grid`): before fitting, ``f`` is rounded to a power-of-two grid of
    about ``rtol(float32)`` = 7.6e-6 of its spread over the distillation set. A tree is discontinuous
    in ``f``: features that split a node into the same two sets tie exactly in exact arithmetic, and
    which one wins (and gets the credit) was decided by the rounding of sums, which differs between
    CPU and CUDA and between float32 and float64 evaluations of ``f``. On the grid every sum is exact,
    so such ties stay exact and are broken alike everywhere; the rounding moves ``f`` by at most
    4e-6 of its spread, far below what a tree of 64 leaves resolves.

    Complexity: ``{"depth": ..., "leaves": ...}`` of each fitted tree. Defaults: ``max_depth=6``
    (≤ 64 leaves), ``n_samples=2000``.
    """

    name: ClassVar[str] = "tree_surrogate"
    description: ClassVar[str] = "decision-tree student of f (background + baseline hybrids), TreeSHAP attributions"

    max_depth: int | None = 6
    feature_perturbation: str = "interventional"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_depth is not None and self.max_depth < 1:
            raise InvalidParameterError(f"{self.name}: max_depth must be at least 1 (or None for unlimited)")
        if self.feature_perturbation not in ("interventional", "tree_path_dependent"):
            raise InvalidParameterError(
                f"{self.name}: feature_perturbation must be 'interventional' or 'tree_path_dependent', got {self.feature_perturbation!r}"
            )

    def fit_student(self, task: Task, rows: np.ndarray, targets: np.ndarray, selector: int) -> Student:
        import shap  # noqa: PLC0415 - heavy, imported on use
        from sklearn.tree import DecisionTreeRegressor  # noqa: PLC0415

        tree = DecisionTreeRegressor(max_depth=self.max_depth, random_state=0).fit(rows, on_grid(targets))
        if self.feature_perturbation == "interventional":
            explainer = shap.TreeExplainer(tree, data=_numpy_rows(task.baseline.unsqueeze(0)), feature_perturbation="interventional")
        else:
            explainer = shap.TreeExplainer(tree, feature_perturbation="tree_path_dependent")
        return Student(
            selector=selector,
            model=tree.predict,
            complexity={"depth": int(tree.get_depth()), "leaves": int(tree.get_n_leaves())},
            attribute=lambda r: np.asarray(explainer.shap_values(r, check_additivity=False)),
        )


@register_method
@dataclass(frozen=True)
class LinearSurrogate(Surrogate):
    """Sparse linear student ``g(x) = α + βᵀx``, attributions ``φ = β ⊙ (x − b)`` (so ``Σφ = g(x) − g(b)``).

    Fitted on standardised features (mean/std of the distillation set; a feature constant to
    rounding, :mod:`xaibench.tolerance`, keeps scale 1) and a standardised target, so ``alpha`` is
    scale-free; β is mapped back to raw units.

    * ``n_nonzero=None`` (default): ``sklearn.linear_model.Lasso(alpha)``, minimising
      ``(1/2n)‖ỹ − X̃β‖² + alpha‖β‖₁`` on the standardised data.
    * ``n_nonzero=k``: the support is the last point of the LARS-lasso path (``lars_path``,
      method "lasso") with at most ``k`` non-zeros, as lime's ``"lasso_path"`` selection; β is then
      refitted by least squares on that support ("relaxed lasso", Meinshausen 2007), which gives
      the best fidelity a k-sparse student on that support can reach.

    Complexity: ``{"nonzero": ...}``. Defaults: ``alpha=0.01``, ``n_samples=2000``.
    """

    name: ClassVar[str] = "linear_surrogate"
    description: ClassVar[str] = "sparse linear (Lasso / top-k LARS) student of f, attributions beta * (x - baseline)"

    alpha: float = 0.01
    n_nonzero: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.alpha >= 0:
            raise InvalidParameterError(f"{self.name}: alpha must be non-negative")
        if self.n_nonzero is not None and self.n_nonzero < 1:
            raise InvalidParameterError(f"{self.name}: n_nonzero must be at least 1 (or None to use alpha)")

    def fit_student(self, task: Task, rows: np.ndarray, targets: np.ndarray, selector: int) -> Student:
        from sklearn.linear_model import Lasso, lars_path  # noqa: PLC0415 - imported on use

        tol = rtol(task.dtype)  # "constant" to rounding, relative to the values' magnitude (xaibench.tolerance)
        x_mean, x_scale = rows.mean(0), rows.std(0)
        x_scale[x_scale <= tol * np.abs(rows).max(0, initial=0.0)] = 1.0
        y_mean, y_scale = targets.mean(), float(targets.std())
        if y_scale <= tol * float(np.abs(targets).max(initial=0.0)):  # f constant on the set: nothing to fit
            y_scale = 1.0
        xs, ys = (rows - x_mean) / x_scale, (targets - y_mean) / y_scale
        if self.n_nonzero is None:
            beta = Lasso(alpha=self.alpha, random_state=0).fit(xs, ys).coef_
        else:
            _, _, path = lars_path(xs, ys, method="lasso")
            sizes = (path != 0).sum(0)
            support = np.flatnonzero(path[:, np.flatnonzero(sizes <= self.n_nonzero)[-1]])
            beta = np.zeros(rows.shape[1])
            beta[support] = np.linalg.lstsq(xs[:, support], ys, rcond=None)[0]
        beta = beta * y_scale / x_scale
        intercept = y_mean - x_mean @ beta
        reference = _numpy_rows(task.baseline.unsqueeze(0))
        return Student(
            selector=selector,
            model=lambda r: intercept + r @ beta,
            complexity={"nonzero": int(np.count_nonzero(beta))},
            attribute=lambda r: beta * (r - reference),
        )


def on_grid(targets: np.ndarray) -> np.ndarray:
    """``targets`` rounded to multiples of ``q = 2^⌊log2(rtol(float32) · spread)⌋``, spread = max − min.

    Sums of such values are exact in float64 (integers times a power of two, far below 2⁵³), so
    quantities a tree compares are exact functions of the partition. The grid is fixed in float32's
    precision for every task dtype, so a float64 task rounds to the same values as a float32 one.
    Constant (or non-finite) ``targets`` are returned unchanged.
    """
    spread = float(targets.max(initial=0.0) - targets.min(initial=0.0))
    if not (spread > 0 and np.isfinite(spread)):
        return targets
    q = 2.0 ** np.floor(np.log2(rtol(torch.float32) * spread))
    return np.round(targets / q) * q


@dataclass(frozen=True)
class DistillationTargets:
    """The distillation points ``(n, *F)`` and ``f`` on them ``(U, n)`` for each distinct selector ``(U,)``."""

    points: Tensor
    selectors: Tensor
    values: Tensor


def distillation_targets(bound: BoundTarget, n_samples: int, seed: int) -> DistillationTargets:
    """The distillation set of ``bound``'s task and ``f`` on it for the selectors chosen at ``bound.x``."""
    task = bound.task
    start = torch.cat([task.baseline.unsqueeze(0), task.background])[:n_samples]
    on = shared_bernoulli(seed, (n_samples - start.shape[0], task.players.n), device=task.device)
    source = task.background[torch.arange(on.shape[0], device=task.device) % task.background.shape[0]]
    points = torch.cat([start, mix(source, task.baseline, task.players.expand(on))])
    with torch.no_grad():
        values, _ = evaluate_per_selector(bound, points)
    return DistillationTargets(points, torch.unique(bound.selector), values)


def fidelity_complexity_curve(task: Task, family: str, grid: list[int], *, seed: int = 0, n_samples: int = 2000,
                              n_heldout: int = 16) -> list[dict[str, Any]]:
    """Held-out fidelity (R²) of the surrogate students versus their complexity knob.

    Args:
        family: ``"tree"`` (knob ``max_depth``) or ``"linear"`` (knob ``n_nonzero``); the method
            names ``"tree_surrogate"`` / ``"linear_surrogate"`` are accepted too.
        grid: knob values, e.g. depths ``[1, 2, 4, 8]`` or non-zero counts ``[1, 2, 5, 10]``.
        n_heldout: points per explained instance in the held-out set (the instance and hybrids).

    Returns one dict per grid value: ``{"method", "knob", "value", <complexity of the largest
    student: depth/leaves or nonzero>, "r2_heldout", "r2_train", "n_heldout", "n_train"}``, R² as in the
    module docstring (per selector, weighted by points).
    """
    kinds = {"tree": (TreeSurrogate, "max_depth"), "tree_surrogate": (TreeSurrogate, "max_depth"),
             "linear": (LinearSurrogate, "n_nonzero"), "linear_surrogate": (LinearSurrogate, "n_nonzero")}
    if family not in kinds:
        raise InvalidParameterError(f"fidelity_complexity_curve: family must be one of {sorted(kinds)}, got {family!r}")
    cls, knob = kinds[family]
    x = task.inputs
    with torch.no_grad():
        bound = task.bind(x)
        heldout = torch.cat([x.unsqueeze(1), _hybrids_per_instance(task, x, n_heldout - 1, seed ^ HELDOUT_STREAM)], 1)
        heldout_values = bound(heldout)  # (N, n_heldout), each instance's own selector
    heldout_rows = _numpy_rows(heldout.reshape(-1, *task.feature_shape)).reshape(x.shape[0], n_heldout, -1)
    selector = bound.selector.cpu().numpy()
    targets = distillation_targets(bound, n_samples, seed)
    train_rows = _numpy_rows(targets.points)
    curve = []
    for value in grid:
        students = cls(n_samples=n_samples, **{knob: value}).fit_students(task, targets)
        train_r2, heldout_r2, weights = [], [], []
        for row, (s, student) in enumerate(students.items()):
            mine = selector == s
            predicted = student.predict(heldout_rows[mine].reshape(-1, heldout_rows.shape[-1]))
            heldout_r2.append(_r2(heldout_values[torch.from_numpy(mine).to(x.device)].reshape(-1), predicted))
            train_r2.append(_r2(targets.values[row], student.predict(train_rows)))
            weights.append(int(mine.sum()))
        complexity = {k: max(st.complexity[k] for st in students.values()) for k in next(iter(students.values())).complexity}
        curve.append({"method": cls.name, "knob": knob, "value": value, **complexity,
                      "r2_heldout": float(np.average(heldout_r2, weights=weights)),
                      "r2_train": float(np.average(train_r2, weights=weights)),
                      "n_heldout": int(heldout_values.numel()), "n_train": int(targets.points.shape[0])})
    return curve


def _hybrids_per_instance(task: Task, x: Tensor, k: int, seed: int) -> Tensor:
    """``(N, k, *F)``: each instance mixed with the baseline under ``k`` shared Bernoulli(½) player masks."""
    on = shared_bernoulli(seed, (k, task.players.n), device=task.device)
    return mix(x, task.baseline, task.players.expand(on).unsqueeze(0))


def _r2(target: Tensor, prediction: np.ndarray) -> float:
    return float(r_squared(target.double().cpu(), torch.from_numpy(np.asarray(prediction, dtype=np.float64))))


def _numpy_rows(t: Tensor) -> np.ndarray:
    """``(B, *F)`` tensor → ``(B, F)`` float64 NumPy rows (the students' CPU round trip)."""
    return t.detach().reshape(t.shape[0], -1).double().cpu().numpy()

