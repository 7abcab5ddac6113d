"""Tokenizers as plain data: where one comes from and what it is (:mod:`.sources`), training BPE, WordPiece and
Unigram on a corpus (:mod:`.training`), and measuring any tokenizer on held-out text (:mod:`.measures`).

Every tokenizer is a ``tokenizers.Tokenizer`` (the Rust library behind transformers' fast tokenizers), whatever
its origin: a model's, one trained here, or one read from a local folder. The hub is never called.
"""
