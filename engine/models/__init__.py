"""The networks: the zoo (``zoo``), a user's own files (``files``, trusted before they
run), their layers found by kind (``layers``), the layer table (``layer_table``) and the
checkpoints that hold their weights (``checkpoints``)."""
