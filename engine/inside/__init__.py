"""Looking inside a trained network: predictions, filters and activations (``network``),
occlusion, attribution, weight and gradient histograms, what a channel responds to
(``channels``), the map of its features (``embedding``) and its confusions."""
