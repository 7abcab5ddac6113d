"""Neuron explanations (Bills et al. 2023): activation records, explainers, simulators and scores."""
