"""Training a network: the loop in its steps (``loop``), the defences' losses (``robust``),
a step recorded as a CUDA graph (``cuda_graphs``) and scoring a split (``evaluation``)."""
