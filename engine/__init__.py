"""mnist-tui's engine: data, models, training, analysis, attacks and runs — without a UI.

Everything it has to say leaves it as events (``engine.events``); it never imports
``textual``, ``rich`` or ``tui``.
"""
