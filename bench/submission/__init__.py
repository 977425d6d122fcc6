"""Submitting a third-party method: ``validate``, ``submit`` (a result bundle) and ``publish``.

* :mod:`.loader` — ``FILE.py:Class`` → its source and its class.
* :mod:`.sandbox` — the confined worker process submitted code runs in.
* :mod:`.contract` and :mod:`.validate` — ``xaibench validate``.
* :mod:`.canonical` — the canonical suite and the published results' location.
* :mod:`.bundle` and :mod:`.submit` — ``xaibench submit``: run, write a bundle, print ranks.
* :mod:`.verify` and :mod:`.publish` — ``xaibench publish``: check bundles, merge, render.

Nothing here is imported by ``import xaibench``; the command line imports it on demand.
"""
