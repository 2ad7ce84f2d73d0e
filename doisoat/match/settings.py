"""MatchSettings: the typed, JSON round-tripping configuration of blocking, training and decisions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from doisoat.match.blocking import DEFAULT_PASSES, BlockingPass


@dataclass
class MatchSettings:
    """How to link: passes in order, the two decision thresholds, the block cap, training knobs.

    ``matched`` / ``review`` are match probabilities. A record whose best candidate reaches ``matched`` in a pass
    leaves the later passes. A runner-up within ``close_margin`` bits of the best makes the record a review case.

    The run's two decision thresholds are set from the estimated precision (the model's probabilities, which are
    calibrated on the data by EM): the matched threshold is the lowest probability, not below ``matched``, at which
    the records linked still have an estimated precision (mean probability) of at least ``target_precision``; the
    review threshold likewise, not below ``review``, keeps the review band's estimated precision at
    ``review_precision`` or more. On data the model scores confidently both equal their floors; on data it is
    unsure of, they rise and fewer records are linked without a steward.
    """

    passes: list[BlockingPass] = field(default_factory=lambda: list(DEFAULT_PASSES))
    matched: float = 0.95
    review: float = 0.50
    target_precision: float = 0.999
    review_precision: float = 0.60
    close_margin: float = 3.0
    block_cap: int = 500
    expected_match_rate: float = 0.9  # share of sector records expected to be in the reference (the prior)
    tf_adjust: bool = True
    tf_min_u: float = 1e-5  # floor of a name's term frequency, so a rare name cannot outweigh an ID
    # estimation on every run (doisoat.match.estimate); the model given is the prior and the fallback
    estimate: bool = True
    min_records_to_estimate: int = 1000  # fewer records than this: the model given is used as it is (warning)
    u_sample_pairs: int = 1_000_000  # random record–reference pairs for u, shared out among the sectors
    min_u_count: int = 20  # random pairs a level needs in a sector, else the pooled u (else the prior's u)
    u_floor: float = 1e-7
    min_em_pairs: int = 200  # blocked pairs an EM session needs, else the pooled (or prior) m
    min_level_count: float = 5.0  # expected matching pairs a level needs, else the prior's m for it
    seed: int = 20250701
    em_max_iter: int = 100
    em_tol: float = 1e-5
    # a record decided with certainty leaves the later passes; False runs every pass for every record (to measure
    # that the cascade costs no recall)
    cascade: bool = True
    cascade_probability: float = (
        0.95  # pair probability at which a record without a close rival leaves later passes
    )
    # no error is impossible: a level unseen in training (a moved person's commune, a changed phone) still costs at
    # most log2(1/m_floor) ≈ 10 bits, so the model does not learn the generator's habits too well
    m_floor: float = 1e-3
    train_max_records: int = 1_000_000  # training uses an evenly spaced sample of rids above this

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passes"] = [p.to_dict() for p in self.passes]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> MatchSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown match settings: {sorted(unknown)}")
        for f in fields(
            cls
        ):  # a number where a number belongs, a yes/no where one does: a text fails on load
            if f.name not in d or f.name == "passes":
                continue
            value, default = d[f.name], f.default
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{f.name}: true or false, not {value!r}")
            elif isinstance(default, int | float) and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"{f.name}: a number, not {value!r}")
        kwargs = dict(d)
        if "passes" in kwargs:
            kwargs["passes"] = [BlockingPass.from_dict(p) for p in kwargs["passes"]]
        obj = cls(**kwargs)
        obj.validate()
        return obj

    @classmethod
    def from_json(cls, text: str) -> MatchSettings:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MatchSettings:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def validate(self) -> None:
        if not 0.0 < self.review <= self.matched < 1.0:
            raise ValueError("thresholds must satisfy 0 < review <= matched < 1")
        if not (0.0 < self.target_precision <= 1.0 and 0.0 < self.review_precision <= 1.0):
            raise ValueError("target_precision and review_precision must be in (0, 1]")
        if self.block_cap < 1:
            raise ValueError("block_cap must be positive")
        if not 0.0 < self.expected_match_rate < 1.0:
            raise ValueError("expected_match_rate must be in (0, 1)")
        names = [p.name for p in self.passes]
        if len(set(names)) != len(names):
            raise ValueError("pass names must be unique")
