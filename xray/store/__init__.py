"""The activation store (hidden states of a corpus, on disk) and nearest-neighbour search over it."""
