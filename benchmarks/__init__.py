"""Timing scripts: superpose side by side with a PyTorch reference (see benchmarks/RESULTS.md)."""
