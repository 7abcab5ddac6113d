"""Transformer factors (Yun et al. 2021): one dictionary for every level of a model, kept apart by job.

- :mod:`xray.factors.solver`: non-negative sparse coding (FISTA) and dictionary learning with checkpoints.
- :mod:`xray.factors.dictionary`: the learned dictionary as a file, and where each model's lives.
- :mod:`xray.factors.learning`: learning one from hidden states, and its quality and importance per level.
- :mod:`xray.factors.corpus`: the same over an activation store, top contexts, summaries and word senses.

The page's technique on the sidebar sentence is :mod:`xray.techniques.factors`.
"""
