"""Beyond the clean test set: how far the confidence a network shows can be trusted
(``calibration``), the test set shifted (``shift``) and corrupted (``corruptions``), and
several networks as one (``ensemble``)."""
