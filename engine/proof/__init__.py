"""Proof of robustness, beside what attacks find: interval bounds (``intervals``) and the
certified accuracy they give (``certify``)."""
