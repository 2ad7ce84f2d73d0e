"""Vietnamese normalisation: legacy encodings, names, dates, IDs, sex, phones, admin units; ``standardize()``."""

from doisoat.normalize.dates import ParsedDate, parse_date, parse_dates, to_day_dates
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
from doisoat.normalize.ids import PROVINCE_CODES, insurance_id_frame, national_id_frame
from doisoat.normalize.names import COMPOUND_SURNAMES, NameParts, names_frame, normalize_name, plain_text
from doisoat.normalize.phones import RENUMBERED_2018, phone_frame
from doisoat.normalize.sex import sex_columns
from doisoat.normalize.standardize import STANDARD_SCHEMA, standardize
from doisoat.normalize.units import (
    commune_frame,
    load_units,
    old_unit_info,
    resolve_commune,
    unit_name_key,
    unit_names,
    units_source,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "PROVINCE_CODES",
    "RENUMBERED_2018",
    "STANDARD_SCHEMA",
    "NameParts",
    "ParsedDate",
    "commune_frame",
    "detect_encoding",
    "from_mojibake",
    "from_tcvn3",
    "from_telex",
    "from_vni",
    "from_vni_digits",
    "insurance_id_frame",
    "load_units",
    "names_frame",
    "national_id_frame",
    "normalize_name",
    "old_unit_info",
    "parse_date",
    "parse_dates",
    "phone_frame",
    "plain_text",
    "repair",
    "resolve_commune",
    "sex_columns",
    "standardize",
    "to_day_dates",
    "to_mojibake",
    "to_new_tone_style",
    "to_nfd",
    "to_old_tone_style",
    "to_tcvn3",
    "to_telex",
    "to_vni",
    "to_vni_digits",
    "unit_name_key",
    "unit_names",
    "units_source",
]
