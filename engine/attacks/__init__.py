"""Breaking the network (study §5): inputs optimised by signed-gradient steps — class
synthesis, targeted images, additive noise — and the standard L-infinity attacks FGSM and
PGD with the robustness curve. All work on pixels in [0, 1] through ``PixelModel``.

A docstring only, like ``models``: ``catalogue`` (the attacks, each describing itself)
is read without importing torch, so the CLI's help stays fast."""
