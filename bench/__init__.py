"""Benchmarks that hold each hot path against what the machine can do.

``python -m bench`` runs every ``bench_*`` module; each also runs alone.
``BENCH_QUICK=1`` shrinks every run to prove the scripts work, not to measure.
"""
