"""How far a network's shown confidence can be trusted: calibration and temperature
scaling (``calibration``)."""
