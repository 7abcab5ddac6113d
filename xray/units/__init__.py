"""Units an explanation can be about, scored alike: which units of a model can be explained?

A unit gives every word piece an activation: an MLP neuron its activation (:mod:`xray.neurons`), a factor of the
dictionary its sparse code (:mod:`xray.factors`), a direction of the residual stream the piece's projection on it
(:mod:`xray.units.directions`: the standard basis, PCA components, random unit directions). Factors and directions
are read from the activation store (no forward pass); each is explained, simulated and scored by the same code
as a neuron (:mod:`xray.techniques.neuron_explanations`), so their scores compare (Cunningham et al. 2023; Heap et
al. 2025 for the random-weights control).
"""
