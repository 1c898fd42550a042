"""Benchmarks and the fault matrix, run as modules from the checkout.

``python -m benchmarks.run`` and ``python -m benchmarks.fault_matrix`` from
the repository's root put the root first on ``sys.path``, so the tree being
measured is the checkout, not whatever copy of ``nova_npiv`` is installed;
nothing here edits ``sys.path``.
"""
