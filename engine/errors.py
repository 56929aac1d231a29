"""The mistakes a user can make or meet (a bad setting, a missing run, unusable data, a
damaged checkpoint), as exceptions whose message is one line that names the culprit.

They live here, away from torch, so that a front end can catch them all as ``UserFacing``
without loading a model library to do it.
"""

from __future__ import annotations


class UserFacing(Exception):
    """Base of the errors whose message is for the user, shown without a traceback."""


class SettingError(UserFacing, ValueError):
    """A setting's value is not allowed; the message names the setting and its rule."""


class RunNotFound(UserFacing):
    """No run matches the name given; the message lists what there is."""


class RunDamaged(UserFacing):
    """A run folder that cannot be used as it is; the message says which file and why."""


class RunBusy(UserFacing):
    """Another process works on the run (it holds the run's lock)."""


class CheckpointError(UserFacing):
    """A checkpoint that is missing, unreadable or does not fit the run; the message names
    the file and what is wrong."""


class DataError(UserFacing):
    """A data file or folder that cannot be used; the message says which and why."""


class DataUnavailable(UserFacing):
    """No source gave a dataset; the message names each source tried and how to fix it."""


class DeviceUnavailable(UserFacing):
    """The device asked for (cuda, mps) is not on this machine."""
