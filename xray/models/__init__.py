"""Model access: load a model once (``loading``), per-family facts (``families``), batched inference
(``batching``), and the classifiers every explainer takes (``classifiers``, trained by ``train_head``)."""
