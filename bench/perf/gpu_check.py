"""The GPU check, in one go: ``python -m xaibench.perf.gpu_check --out DIR`` on a machine with a CUDA GPU.

Run it from the repository root after ``make install-dev`` (a CUDA build of torch already in
``.venv`` is kept). It writes into ``DIR`` (default ``$OUT``, else ``gpu-check/``):

1. ``environment.txt`` — torch and CUDA versions, the device, ``nvidia-smi`` where present;
2. ``cuda-tests.txt`` / ``cuda-tests.xml`` — the device tests: CUDA-vs-CPU equality of every method
   and metric (``tests/contract/test_device_equality.py``), memory-aware chunking and the throughput
   sweep's own tests, with ``-rxXfs`` so every expected difference and skip is listed;
3. ``throughput-<device>.md`` / ``.json`` — ``xaibench throughput`` for integrated gradients,
   SmoothGrad and KernelSHAP (the standard suite's settings) on the MNIST CNN and the conv VAE,
   against their floors;
4. optionally (``--standard-tasks``), a timed slice of the standard suite on the device
   (``standard-slice/``, its wall time in the summary);
5. ``summary.md`` — the test outcome, each pair's best batch and ratio to its floor against the
   target (``--target``, default 1.3), and the wall time of every step.

Exit status: 0 when the tests passed (expected differences are ``xfail``), 1 when a test failed or
a step crashed; a ratio above the target is reported, not an error. ``--device cpu`` is the dry run
(the CUDA tests skip; use small ``--batch-sizes``). Budget on an H100/H200: a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from xaibench.perf import checked_device

METHODS = "integrated_gradients,smoothgrad,kernel_shap"
TASKS = "mnist_5k/cnn/logit,mnist_5k/vae/neg_elbo"
TARGET = 1.3
TEST_FILES = ("tests/contract/test_device_equality.py", "tests/harness/test_chunking.py",
              "tests/harness/test_throughput.py")
REPO = Path(__file__).resolve().parents[2]


def environment(device: str) -> str:
    import torch  # noqa: PLC0415

    from xaibench.metrics.cost import device_name  # noqa: PLC0415

    lines = [f"python {platform.python_version()}, torch {torch.__version__}, CUDA build {torch.version.cuda}",
             f"device {device}: {device_name(device)}", f"cuda available: {torch.cuda.is_available()}"]
    if torch.cuda.is_available():
        lines.append(f"cudnn {torch.backends.cudnn.version()}, TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, "
                     f"TF32 cudnn {torch.backends.cudnn.allow_tf32}")
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60)
        lines += ["", smi.stdout.strip()]
    return "\n".join(lines) + "\n"


def run_tests(out: Path) -> tuple[int, str]:
    """The device tests in a subprocess; returns pytest's exit status and its last line."""
    files = [f for f in TEST_FILES if (REPO / f.split("::")[0]).exists()]
    if not files:
        (out / "cuda-tests.txt").write_text("tests/ not found next to the package: run from a repository checkout\n")
        return 1, "tests not found"
    command = [sys.executable, "-m", "pytest", "-q", "-rxXfs", "-p", "no:cacheprovider",
               f"--junitxml={out / 'cuda-tests.xml'}", *files]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    (out / "cuda-tests.txt").write_text(f"$ {' '.join(command)}\n\n{done.stdout}\n{done.stderr}")
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "(no output)"
    return done.returncode, last


def run_standard_slice(device: str, tasks: str, n_instances: int, out: Path) -> tuple[int, float, str]:
    command = [sys.executable, "-m", "xaibench.cli", "run", "--suite", "standard", "--tasks", tasks, "--seeds", "0",
               "--n-instances", str(n_instances), "--device", device, "--out", str(out / "standard-slice"), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    (out / "standard-slice.txt").write_text(f"$ {' '.join(command)}\n\n{done.stdout}\n{done.stderr}")
    return done.returncode, seconds, " ".join(["xaibench", *command[3:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xaibench.perf.gpu_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu for a dry run")
    parser.add_argument("--out", default=os.environ.get("OUT", "gpu-check"), help="output folder (default: $OUT)")
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--batch-sizes", help="default: xaibench throughput's for the device")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--target", type=float, default=TARGET, help="ratio to the floor to meet (default 1.3)")
    parser.add_argument("--skip-tests", action="store_true", help="only the throughput sweep")
    parser.add_argument("--standard-tasks", help="also time the standard suite on these --tasks patterns (seed 0)")
    parser.add_argument("--standard-instances", type=int, default=200)
    args = parser.parse_args(argv)
    device = checked_device(parser.prog, args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps: list[str] = []
    status = 0

    (out / "environment.txt").write_text(environment(device))
    print((out / "environment.txt").read_text(), flush=True)

    if not args.skip_tests:
        start = time.perf_counter()
        code, last = run_tests(out)
        steps.append(f"- device tests: {last} (exit {code}, {time.perf_counter() - start:.0f} s; cuda-tests.txt)")
        status |= int(code != 0)
        print(steps[-1], flush=True)

    from xaibench.throughput import ratio_summary, run_throughput  # noqa: PLC0415

    start = time.perf_counter()
    lines: list[str] = []
    try:
        sizes = [int(b) for b in args.batch_sizes.split(",")] if args.batch_sizes else None
        sweep = run_throughput(methods=args.methods, tasks=args.tasks, device=device, batch_sizes=sizes,
                               repeats=args.repeats, budget_s=args.budget,
                               note="Measured by `python -m xaibench.perf.gpu_check`.")
        name = f"throughput-{torch_device_type(device)}"
        (out / f"{name}.md").write_text(sweep.markdown())
        (out / f"{name}.json").write_text(json.dumps(sweep.to_json(), indent=1))
        lines = ratio_summary(sweep, args.target)
        steps.append(f"- throughput sweep: {time.perf_counter() - start:.0f} s ({name}.md)")
    except Exception as exc:  # noqa: BLE001 - report the step and go on to the summary
        status = 1
        steps.append(f"- throughput sweep FAILED: {type(exc).__name__}: {exc}")
    print(steps[-1], *lines, sep="\n", flush=True)

    if args.standard_tasks:
        code, seconds, command = run_standard_slice(device, args.standard_tasks, args.standard_instances, out)
        steps.append(f"- standard suite slice (`{command}`): {seconds:.0f} s wall, exit {code} "
                     "(standard-slice.txt, standard-slice/)")
        status |= int(code != 0)
        print(steps[-1], flush=True)

    summary = ["# GPU check", "", "```", environment(device).split("\n\n")[0], "```", "", "## Steps", "", *steps,
               "", f"## Ratio to the floor at the best batch size (target {args.target:g})", "",
               *[f"- {line}" for line in lines], ""]
    (out / "summary.md").write_text("\n".join(summary))
    print(f"\nwritten: {out.resolve()}/summary.md (exit {status})")
    return status


def torch_device_type(device: str) -> str:
    import torch  # noqa: PLC0415

    return torch.device(device).type


if __name__ == "__main__":
    sys.exit(main())
