"""A run in the formats of the tools people already use (TensorBoard's logs)."""
