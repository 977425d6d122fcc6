"""Reference wrappers: shap's KernelExplainer and captum's KernelShap as registry methods.

They exist to validate ``kernel_shap`` and for the speed table: the packages users know, called
the way users call them — one instance at a time, the model wrapped as a NumPy (shap) or torch
(captum) function of one instance's perturbations. They are slow and not batched on purpose.
Both take the same game as ``kernel_shap``: players = the task's features or groups, absent
players from one baseline row (default) or the task's background rows.

Reproducibility: each instance is explained after seeding the package's random source with
``seed`` (NumPy's global state for shap, torch's CPU generator for captum), inside a context that
restores the caller's state. An instance's result is therefore independent of its batch-mates.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
import torch
from torch import Tensor

from xaibench.errors import NotApplicableError
from xaibench.method import Method, register_method
from xaibench.params import Ge
from xaibench.task import Task

from ._coalitions import check_parameters, game_values, reference_rows


@contextlib.contextmanager
def _numpy_seed(seed: int):
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


@contextlib.contextmanager
def _torch_seed(seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@dataclass(frozen=True)
class _ReferenceShap(Method):
    family: ClassVar[str] = "reference"
    stochastic: ClassVar[bool] = True

    n_samples: int = 2048
    background: str = "baseline"

    def __post_init__(self) -> None:
        check_parameters(self)

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        if x.shape[0] == 0:
            return torch.zeros_like(x)
        phi = torch.stack([self.explain_one(task, x[i : i + 1], seed) for i in range(x.shape[0])])
        return task.players.spread(phi.to(device=x.device, dtype=x.dtype))

    @abstractmethod
    def explain_one(self, task: Task, x: Tensor, seed: int) -> Tensor:
        """``(G,)`` per-player values of the single instance ``x`` ``(1, *F)``."""


@register_method
@dataclass(frozen=True)
class KernelShapRef(_ReferenceShap):
    """shap's ``KernelExplainer`` (Lundberg & Lee 2017), one instance at a time.

    ``shap.KernelExplainer(model, DenseData(reference rows, groups)).shap_values(x, nsamples=n_samples,
    l1_reg=l1_reg)`` with ``model`` the task's target pinned to the explained instance's output,
    called on NumPy arrays. Groups are passed as shap's ``DenseData`` groups.

    Parameters:
        n_samples: shap's ``nsamples`` (default 2048, as ``kernel_shap``; shap's "auto" is 2G + 2048).
        background: ``"baseline"`` (one row, default) or ``"background"`` (the task's B rows).
        l1_reg: shap's feature selection; default ``False`` (every player estimated). shap's own
            default since 0.47, ``"num_features(10)"``, zeroes all but 10 players.
    """

    name: ClassVar[str] = "kernel_shap_ref"
    description: ClassVar[str] = "shap.KernelExplainer (reference; per instance, NumPy, slow)"

    l1_reg: bool | str | float = False

    def explain_one(self, task: Task, x: Tensor, seed: int) -> Tensor:
        import shap  # noqa: PLC0415 - heavy, imported where used
        from shap.utils._legacy import DenseData  # noqa: PLC0415

        players = task.players
        rows = reference_rows(task, self.background).reshape(-1, players.n_features).cpu().numpy()
        index = players.index.cpu().numpy()
        groups = [np.flatnonzero(index == g) for g in range(players.n)]
        data = DenseData(rows, [str(g) for g in range(players.n)], groups)
        bound = task.bind(x)

        def model(z: np.ndarray) -> np.ndarray:
            z = torch.as_tensor(z, dtype=x.dtype, device=x.device).reshape(1, -1, *task.feature_shape)
            with torch.no_grad():
                return bound(z)[0].cpu().numpy()

        explainer = shap.KernelExplainer(model, data)
        with _numpy_seed(seed):
            phi = explainer.shap_values(x.reshape(-1).cpu().numpy(), nsamples=self.n_samples,
                                        l1_reg=self.l1_reg, silent=True)
        return torch.as_tensor(np.asarray(phi, dtype=np.float64).reshape(players.n))


@register_method
@dataclass(frozen=True)
class CaptumKernelShap(_ReferenceShap):
    """captum's ``KernelShap`` (captum.attr), one instance at a time.

    With ``background="baseline"``: ``KernelShap(f).attribute(x, baselines=task.baseline,
    feature_mask=groups, n_samples=n_samples, perturbations_per_eval=…, return_input_shape=False)``,
    ``f`` the task's target pinned to the instance's output. captum has no averaging over several
    baseline rows, so with ``background="background"`` it explains the coalition game itself: inputs
    = one 1 per player, baseline = 0, and the forward function maps a 0/1 player vector to
    v(S) = mean_r f(x_S, r_¬S) (the same game as ``kernel_shap``).

    captum draws coalitions i.i.d. from the Shapley kernel's size distribution (no pairing, no
    enumeration, duplicates kept), weights them 1 and the endpoints 10⁶, and fits an unconstrained
    linear regression with intercept (sklearn), so efficiency holds only approximately.

    Parameters:
        n_samples: captum's ``n_samples`` (default 2048; includes the two endpoints).
        background: as for ``kernel_shap``.
        perturbations_per_eval: perturbations per forward call (default 2048: all of an instance's
            perturbations in one call). captum's default, 1, gives the same result much more slowly;
            the speed table times both.
    """

    name: ClassVar[str] = "captum_kernel_shap"
    description: ClassVar[str] = "captum.attr.KernelShap (reference; per instance, slow)"

    perturbations_per_eval: Annotated[int, Ge(1)] = 2048

    def check(self, task: Task) -> None:
        super().check(task)
        if task.players.n < 2:
            raise NotApplicableError(f"{self.name}: captum's KernelShap needs at least 2 players, {task.name} has 1")

    def explain_one(self, task: Task, x: Tensor, seed: int) -> Tensor:
        from captum.attr import KernelShap  # noqa: PLC0415 - heavy, imported where used

        players = task.players
        if self.background == "baseline":
            bound = task.bind(x)
            forward = lambda z: bound(z[None])[0]  # noqa: E731
            inputs, baselines = x, reference_rows(task, "baseline")
            mask = players.index.reshape(1, *task.feature_shape)
        else:
            rows = reference_rows(task, "background")
            forward = lambda m: game_values(task, x, m > 0.5, rows)[0]  # noqa: E731
            inputs = torch.ones(1, players.n, dtype=x.dtype, device=x.device)
            baselines, mask = torch.zeros_like(inputs), None
        with _torch_seed(seed), torch.no_grad():
            coefs = KernelShap(forward).attribute(
                inputs, baselines=baselines, feature_mask=mask, n_samples=self.n_samples,
                perturbations_per_eval=self.perturbations_per_eval, return_input_shape=False,
            )
        return coefs.reshape(players.n).to(torch.float64)
