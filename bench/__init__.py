"""The benchmark: a deterministic synthetic province (:mod:`bench.synthetic`) and the measurements
(:mod:`bench.run`), outside the ``tthc_core`` package the dashboard imports.

Run it with ``python3 -m bench`` (or ``python3 -m tthc_core bench``); results go to ``bench/results.md``.
"""
