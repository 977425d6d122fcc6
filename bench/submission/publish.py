"""``xaibench publish BUNDLE...``: verify bundles, merge them into ``results/``, render everything.

``RESULTS/standard`` must be a results folder (:mod:`xaibench.results`, written by
``xaibench leaderboard RUN_DIR --save RESULTS/standard --render-into RESULTS``): its manifest holds
the canonical suite and plan, and names where the leaderboard files are rendered and where the
submissions go (``RESULTS/LEADERBOARD.*``, ``RESULTS/submissions/``).

For each bundle, :func:`xaibench.submission.verify.verify` (which never imports or runs the
submitted code) against the canon of ``RESULTS/standard`` — its suite and plan, its value code,
its method names. A refused bundle is reported with its reason and changes nothing. An accepted
one is copied, file by file and only the files its ``bundle.json`` lists, to
``RESULTS/submissions/<name>/``: every destination path is built from components checked to be
safe (:func:`~xaibench.submission.verify.safe_relative`) and is checked to lie inside that
folder; the copy is made in a temporary folder beside it and renamed into place.

Then the leaderboard files the manifest names are rendered from all published records (built-in
and submitted, :func:`xaibench.results.render_files` — the very text ``xaibench leaderboard --check
RESULTS/standard`` expects), and the static site (:func:`xaibench.site.build_site`), by default
into ``RESULTS/site``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BundleError, ResultsError
from .canonical import DEFAULT_RESULTS, canonical_plan, standard_dir
from .verify import Canon, Verified, safe_relative, verify


@dataclass
class Outcome:
    merged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (bundle, reason)
    written: list[Path] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        out = [f"published {name}" for name in self.merged]
        out += [f"REFUSED {bundle}: {reason}" for bundle, reason in self.refused]
        out += [f"wrote {path}" for path in self.written]
        return out


def publish(bundles: Sequence[str | Path], *, results: str | Path | None = None, site: str | Path | None = None,
            replace: bool = False) -> Outcome:
    """Verify and merge ``bundles`` into ``results``, then render the leaderboard and the site
    (with no bundles: render only; when every bundle is refused: nothing). See the module docstring."""
    results = Path(results or DEFAULT_RESULTS)
    outcome = Outcome()
    if bundles:
        canon = load_canon(results)
        for bundle in bundles:
            try:
                verified = verify(bundle, canon)
                merge(verified, results, replace=replace)
            except BundleError as exc:
                outcome.refused.append((str(bundle), str(exc)))
                continue
            outcome.merged.append(verified.name)
        if not outcome.merged:
            return outcome  # every bundle refused: nothing changed, nothing to render
    outcome.written += render_results(results, site=Path(site) if site else results / "site")
    return outcome


def load_canon(results: Path) -> Canon:
    """The canon of the published results (their suite, plan, value code and method names)."""
    from ..results import read_table  # noqa: PLC0415

    standard = standard_dir(results)
    check_published(standard)
    plan = canonical_plan(None, results=results)
    described = plan.describe()  # its methods' seeds give a stochastic submission's (submission_seeds)
    table = read_table(standard, ["code_sha256", "method", "method_name"])
    codes = set(table.column("code_sha256").to_pylist())
    taken = set(table.column("method").to_pylist()) | set(table.column("method_name").to_pylist())
    from ..registries import methods  # noqa: PLC0415 - built-in and installed methods, not submitted ones

    taken |= {n for n, cls in methods.items() if not cls.__module__.startswith("_xaibench_submission_")}
    return Canon({k: plan.suite.identity[k] for k in ("name", "version", "sha256")}, described,
                 codes.pop() if len(codes) == 1 else None, frozenset(t for t in taken if t))


def check_published(standard: Path) -> None:
    """``standard`` is a results folder whose manifest names its rendered files and its submissions.

    Raises:
        ResultsError: it is not, saying how to make one.
    """
    from ..results import is_results_folder, rendered_paths, submissions_dir  # noqa: PLC0415

    make = (f"make it from the standard suite's run folder with `xaibench leaderboard RUN_DIR --save {standard} "
            f"--render-into {standard.parent}`, or pass --results DIR")
    if not is_results_folder(standard):
        raise ResultsError(f"{standard} is not a results folder (no records.parquet, or no such folder); publish "
                           f"needs the published built-in results for the canonical suite: {make}")
    if not rendered_paths(standard) or submissions_dir(standard) is None:
        raise ResultsError(f"the manifest of {standard} does not name its rendered leaderboard files and its "
                           f"submissions folder (results.rendered, results.submissions): it was saved by an older "
                           f"xaibench; {make}")


def merge(verified: Verified, results: Path, *, replace: bool) -> Path:
    """Copy the verified bundle's listed files to ``RESULTS/submissions/<name>/`` (module docstring)."""
    from ..results import submissions_dir  # noqa: PLC0415

    root = submissions_dir(standard_dir(results))
    root.mkdir(parents=True, exist_ok=True)
    (name,) = safe_relative(verified.name)
    destination = root / name
    if destination.exists() and not replace:
        raise BundleError(f"a submission named {name!r} is already published in {root}; publish with --replace to "
                          "replace it, or submit under another --name")
    staging = root / f".{name}.{os.getpid()}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for relative, source in verified.files.items():
            target = staging.joinpath(*safe_relative(relative))
            if not target.resolve().is_relative_to(staging.resolve()):
                raise BundleError(f"the bundle file {relative!r} would be written outside {staging}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target, follow_symlinks=False)
        shutil.copyfile(verified.folder / "bundle.json", staging / "bundle.json", follow_symlinks=False)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def render_results(results: Path, *, site: Path | None) -> list[Path]:
    """Render the leaderboard files of ``RESULTS/standard`` (``RESULTS/LEADERBOARD.*``) and the
    site from every published record."""
    from .. import results as results_folder  # noqa: PLC0415

    standard = standard_dir(results)
    check_published(standard)
    board = results_folder.build_published_board(standard)
    written = list(results_folder.render_files(standard, board).values())
    if site is not None:
        from ..site import build_site  # noqa: PLC0415

        written.append(build_site(results, site, board=board))
    return written
