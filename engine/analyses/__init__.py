"""Every analysis declared once (see ``declaration``): importing this package registers the
built-in ones, in the order the front ends list them."""

from engine.analyses import inside  # isort: skip  (the order the front ends list them)
from engine.analyses import attacks  # isort: skip
from engine.analyses import proof  # isort: skip
from engine.analyses import beyond  # isort: skip
from engine.analyses.declaration import (
    ANALYSES,
    Analysis,
    Result,
    flat_items,
    in_group,
    parameter,
    register,
    unregister,
)

__all__ = [
    "ANALYSES",
    "Analysis",
    "Result",
    "attacks",
    "beyond",
    "inside",
    "proof",
    "flat_items",
    "in_group",
    "parameter",
    "register",
    "unregister",
]
