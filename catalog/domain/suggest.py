"""A suggested category for a database column, from its name and type: shown to the owner,
never applied (the field stays `unclassified` until its owner decides). The table is data,
tested row by row; the first matching row wins, so specific rows come first."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (category, column types containing any of these words)
BY_TYPE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tracking.location.precise", ("geometry", "geography", "point")),
    ("tracking.device", ("inet", "cidr", "macaddr")),
)

# (category, words or word_sequences that appear in the column name)
BY_NAME: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tracking.location.precise", ("lat", "lon", "lng", "latitude", "longitude", "geo",
                                   "geolocation", "coordinates", "gps", "geohash")),
    ("tracking.device", ("ip", "ip_address", "device", "device_id", "idfa", "gaid", "imei",
                         "user_agent", "useragent", "mac_address")),
    ("tracking.cross_site", ("cookie", "third_party_cookie", "ad_id", "cross_site")),
    ("tracking.contact", ("email", "e_mail", "mail", "phone", "mobile", "telephone", "tel",
                          "msisdn", "fax", "address", "street", "zip", "zipcode", "postcode",
                          "postal_code")),
    ("tracking.location", ("city", "country", "region", "location", "state", "province")),
    ("external.demographics", ("birth", "birthday", "birthdate", "dob", "age", "gender", "sex",
                               "nationality", "ethnicity")),
    ("external.health", ("health", "diagnosis", "medical", "pregnancy", "pregnant",
                         "disability", "allergy", "medication")),
    ("external.biometric", ("fingerprint", "biometric", "face_id", "iris", "height",
                            "weight")),
    ("financial.payment", ("iban", "bic", "swift", "card", "card_number", "pan", "cvv",
                           "payment", "account_number", "bank_account")),
    ("financial.income", ("salary", "income", "wage", "wages")),
    ("financial.credit", ("credit", "credit_score", "loan", "debt")),
    ("social.religion", ("religion", "religious", "faith")),
    ("social.political", ("political", "politics", "party_affiliation")),
    ("social.family", ("spouse", "children", "marital", "marital_status", "family")),
    ("professional.employment", ("employer", "occupation", "job_title", "employment")),
    ("professional.education", ("education", "degree", "school", "university")),
    ("historical.purchases", ("order", "orders", "purchase", "purchases", "basket", "cart")),
    ("historical.browsing", ("pageview", "page_view", "click", "clicks", "referrer",
                             "session")),
    ("internal.preferences", ("preference", "preferences", "favourite", "favorite", "size")),
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Suggestion:
    category: str
    why: str  # what in the column gave it away

    def __str__(self) -> str:
        return f"{self.category} ({self.why})"


def words(column: str) -> list[str]:
    """birthDate -> [birth, date]; IBAN_no -> [iban, no]."""
    return [w for w in _SPLIT.split(_CAMEL.sub("_", column).lower()) if w]


def _contains(seq: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(seq[i:i + n] == part for i in range(len(seq) - n + 1))


def suggest(column: str, type_: str | None = None) -> Suggestion | None:
    kind = (type_ or "").lower()
    for category, needles in BY_TYPE:
        for needle in needles:
            if needle in kind:
                return Suggestion(category, f"type {type_}")
    seq = words(column)
    for category, terms in BY_NAME:
        for term in terms:
            if _contains(seq, term.split("_")):
                return Suggestion(category, f"name contains {term!r}")
    return None
