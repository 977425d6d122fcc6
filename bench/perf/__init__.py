"""Side-by-side speed comparisons (``python -m xaibench.perf``): medians and ratios in one run."""
