"""Real, offline datasets for the demos: CMS Z->mumu dimuons and Daya Bay reactor antineutrinos.

Pure numpy; nothing here depends on the autograd engine or downloads anything.
"""

from .dayabay import BACKGROUNDS, PERIODS, DayaBayData, load_dayabay
from .split import split_by_event
from .zmumu import COLUMNS, FEATURES, Z_WINDOW_GEV, ZmumuData, load_zmumu, zmumu_features, zmumu_mass, zmumu_signal

__all__ = [
    "BACKGROUNDS",
    "COLUMNS",
    "FEATURES",
    "PERIODS",
    "Z_WINDOW_GEV",
    "DayaBayData",
    "ZmumuData",
    "load_dayabay",
    "load_zmumu",
    "split_by_event",
    "zmumu_features",
    "zmumu_mass",
    "zmumu_signal",
]
