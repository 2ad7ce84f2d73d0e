"""Record linkage of sector records to the reference population: blocking in DuckDB, vectorised comparisons,
Fellegi–Sunter weights with EM, decisions and explanations."""

from doisoat.match.blocking import DEFAULT_PASSES, BlockingPass
from doisoat.match.compare import DEFAULT_COMPARISONS, Comparison, Level
from doisoat.match.decide import MATCH_SCHEMA, FrozenLink, LinkResult, Thresholds, link
from doisoat.match.estimate import Estimation, estimate_models, estimate_u, train
from doisoat.match.model import MatchModel
from doisoat.match.settings import MatchSettings

__all__ = [
    "DEFAULT_COMPARISONS",
    "DEFAULT_PASSES",
    "MATCH_SCHEMA",
    "BlockingPass",
    "Comparison",
    "Level",
    "LinkResult",
    "MatchModel",
    "MatchSettings",
    "Estimation",
    "FrozenLink",
    "Thresholds",
    "estimate_models",
    "estimate_u",
    "link",
    "train",
]
