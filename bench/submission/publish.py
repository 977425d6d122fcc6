"""``xaibench publish BUNDLE...``: verify bundles, merge them into ``results/``, render everything.

For each bundle, :func:`xaibench.submission.verify.verify` (which never imports or runs the
submitted code) against the canon of ``RESULTS/standard`` — its suite and plan, its value code,
its method names. A refused bundle is reported with its reason and changes nothing. An accepted
one is copied, file by file and only the files its ``bundle.json`` lists, to
``RESULTS/submissions/<name>/``: every destination path is built from components checked to be
safe (:func:`~xaibench.submission.verify.safe_relative`) and is checked to lie inside that
folder; the copy is made in a temporary folder beside it and renamed into place.

Then the leaderboard files are rendered from all published records (built-in and submitted,
:mod:`xaibench.submission.published`) — ``RESULTS/LEADERBOARD.md``, ``.tex``, ``.csv``,
``.json`` — and the static site (:func:`xaibench.site.build_site`), by default into ``RESULTS/site``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BundleError, ResultsError
from ..store import RECORDS, atomic_write
from .canonical import DEFAULT_RESULTS, SUBMISSIONS, canonical_plan, standard_dir, standard_manifest
from .verify import Canon, Verified, safe_relative, verify

LEADERBOARD_FILES = {"markdown": "LEADERBOARD.md", "latex": "LEADERBOARD.tex", "csv": "LEADERBOARD.csv",
                     "json": "LEADERBOARD.json"}


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
    from ..store import read_records  # noqa: PLC0415

    manifest = standard_manifest(results)
    if manifest is None or not (standard_dir(results) / RECORDS).is_file():
        raise ResultsError(f"{standard_dir(results)} holds no published results (manifest.json and records); publish "
                           "needs them for the canonical suite: run it in a clone of the repository, or pass "
                           "--results DIR")
    plan = canonical_plan(None, results=results)
    described = {k: v for k, v in plan.describe().items() if k != "methods"}
    codes, taken = set(), set()
    for record in read_records(standard_dir(results) / RECORDS, ("code_sha256", "method", "method_name")):
        codes.add(record["code_sha256"])
        taken |= {record["method"], record["method_name"]}
    from ..registries import methods  # noqa: PLC0415 - built-in and installed methods, not submitted ones

    taken |= {n for n, cls in methods.items() if not cls.__module__.startswith("_xaibench_submission_")}
    return Canon({k: plan.suite.identity[k] for k in ("name", "version", "sha256")}, described,
                 codes.pop() if len(codes) == 1 else None, frozenset(t for t in taken if t))


def merge(verified: Verified, results: Path, *, replace: bool) -> Path:
    """Copy the verified bundle's listed files to ``RESULTS/submissions/<name>/`` (module docstring)."""
    root = (results / SUBMISSIONS).resolve()
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
    """Write ``RESULTS/LEADERBOARD.*`` (and the site) from every published record."""
    from ..recordset import read  # noqa: PLC0415
    from ..render import render  # noqa: PLC0415
    from ..tables import build_board  # noqa: PLC0415
    from .published import leaderboard_sources  # noqa: PLC0415

    with leaderboard_sources(results) as sources:
        if not sources:
            raise ResultsError(f"{results} holds no records to render (no {standard_dir(results)} and no submissions)")
        board = build_board(read(sources))
    written = []
    for fmt, name in LEADERBOARD_FILES.items():
        text = render(board, fmt)
        atomic_write(results / name, text if text.endswith("\n") else text + "\n")
        written.append(results / name)
    if site is not None:
        from ..site import build_site  # noqa: PLC0415

        written.append(build_site(results, site, board=board))
    return written
