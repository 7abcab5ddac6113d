"""Explainers benchmarked over a corpus: ferret's faithfulness of each method's word scores on many texts, the
methods' agreement, and the words the classifier relies on per class."""
