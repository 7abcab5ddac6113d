"""Heavy precomputation past one process: the activation store and neuron records built on Ray Data by an actor
pool of model replicas, each writing its shards of the same format the single-process build writes."""
