"""Vietnamese normalisation: legacy encodings, names, dates, IDs, sex, phones, admin units; ``standardize()``."""

from doisoat.normalize.encodings import (
    detect_encoding,
    from_mojibake,
    from_tcvn3,
    from_telex,
    from_vni,
    from_vni_digits,
    repair,
    to_mojibake,
    to_new_tone_style,
    to_nfd,
    to_old_tone_style,
    to_tcvn3,
    to_telex,
    to_vni,
    to_vni_digits,
)
from doisoat.normalize.ids import PROVINCE_CODES

__all__ = [
    "PROVINCE_CODES",
    "detect_encoding",
    "from_mojibake",
    "from_tcvn3",
    "from_telex",
    "from_vni",
    "from_vni_digits",
    "repair",
    "to_mojibake",
    "to_nfd",
    "to_new_tone_style",
    "to_old_tone_style",
    "to_tcvn3",
    "to_telex",
    "to_vni",
    "to_vni_digits",
]
