"""Completions for a partial address, fast enough for every keystroke.

Built once per layer: every street under several keys (``N KINGSHIGHWAY``, ``KINGSHIGHWAY``, the
layer's own spelling), each street's house numbers sorted as text, and all numbers sorted as text.
A query is split into a house number and a street prefix; the words already complete are
normalized (``south`` -> ``S``, ``street`` -> ``ST``, ``us hwy`` -> ``US HIGHWAY``), the last
word is a prefix. Streets whose key starts with the prefix come first; when none does, streets
whose key begins *about* like it (rapidfuzz ratio on the key cut to the prefix's length).
"""

from __future__ import annotations

import bisect
import re

from rapidfuzz import fuzz, process

from .index import AddressIndex
from .normalize import MAX_ADDRESS_LENGTH, clean_text, parse_street, tables
from .types import Suggestion

_WORDS = re.compile(r"[^A-Z0-9#/]+")
_NUMBER_START = re.compile(r"^\d+[A-Z]?$|^\d+-[A-Z0-9]{1,3}$")
#: a typed street prefix matches a street key about this well (0..100) to be offered when no
#: street starts with it exactly
FUZZY_PREFIX_CUTOFF = 75


class SuggestIndex:
    """Precomputed completions for one address layer."""

    def __init__(self, index: AddressIndex) -> None:
        self.index = index
        layer = index.layer
        n_sites = len(index.site_rows)
        labels = []
        for s in range(n_sites):
            labels.append(layer.address(int(index.site_row[s]), unit=False))
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        self.site_label = [
            f"{label}, {layer.zip[int(index.site_row[s])]}" if counts[label] > 1 else label
            for s, label in enumerate(labels)
        ]
        # every street under several keys
        keys: dict[str, set[int]] = {}
        for sid, street in enumerate(index.streets):
            label = layer.street_labels[sid]
            forms = {street.key, label}
            no_dir = " ".join(p for p in (street.name, street.suffix, street.postdir) if p)
            forms.add(no_dir)
            raw = parse_street(label)
            if raw.raw_name:
                forms.add(" ".join(p for p in (raw.raw_name, street.suffix) if p))
                forms.add(raw.raw_name)
            for form in forms:
                keys.setdefault(form, set()).add(sid)
        self.street_keys = sorted(keys)
        self.street_key_sids = [sorted(keys[k]) for k in self.street_keys]
        # each street's numbers as sorted text, and all numbers as sorted text
        self.street_numbers: list[tuple[list[str], list[int]]] = []
        for sid in range(len(index.streets)):
            sites = index.street_all[sid]
            pairs = sorted((layer.number[int(index.site_row[s])], int(s)) for s in sites)
            self.street_numbers.append(([p[0] for p in pairs], [p[1] for p in pairs]))
        everything = sorted(
            (layer.number[int(index.site_row[s])], self.site_label[s], s) for s in range(n_sites)
        )
        self.all_numbers = [e[0] for e in everything]
        self.all_sites = [e[2] for e in everything]
        # a point for each street: the middle of its spread
        self.street_point: list[int] = []
        for sid in range(len(index.streets)):
            spread = index.spread_sites(sid)
            self.street_point.append(spread[len(spread) // 2] if spread else -1)

    # -- query reading ---------------------------------------------------------------------------
    def _read(self, text: str) -> tuple[str, list[str], str]:
        """``(number, complete street words normalized, partial last word)``."""
        s = clean_text(text).split(",")[0].replace(".", "").replace("'", "")
        trailing = text[-1:].isspace() or text.rstrip().endswith((",", "."))
        tokens = [t for t in _WORDS.sub(" ", s).split() if t]
        number = ""
        if tokens and _NUMBER_START.match(tokens[0]):
            number = tokens.pop(0)
            if tokens and re.fullmatch(r"[1-9]/[2-9]", tokens[0]):
                number = f"{number} {tokens.pop(0)}"
            if not tokens and not trailing:
                return number, [], ""
        t = tables()
        # a unit ends the street: "... APT 5", "... #5"
        for i in range(1, len(tokens)):
            if tokens[i].startswith("#") or tokens[i] in t.units and i < len(tokens) - 1:
                tokens = tokens[:i]
                trailing = True
                break
        complete = tokens if trailing else tokens[:-1]
        partial = "" if trailing else (tokens[-1] if tokens else "")
        words: list[str] = []
        for variant, canonical in t.highways:
            k = len(variant)
            if tuple(complete[:k]) == variant and (
                len(complete) > k
                and complete[k][:1].isdigit()
                or len(complete) == k
                and partial[:1].isdigit()
            ):
                words = canonical.split()
                complete = complete[k:]
                break
        for i, tok in enumerate(complete):
            if i == 0 and not words and tok in t.directionals and (len(complete) > 1 or partial):
                words.append(t.directionals[tok])
            elif i > 0 and tok in t.suffixes:
                words.append(t.suffixes[tok])
            else:
                words.append(tok)
        return number, words, partial

    def _streets(self, words: list[str], partial: str) -> list[tuple[int, int]]:
        """``(rank, street id)`` of streets whose key starts with the typed street, best first."""
        prefix = " ".join([*words, partial]).strip()
        if not prefix:
            return []
        found: dict[int, int] = {}
        i = bisect.bisect_left(self.street_keys, prefix)
        while i < len(self.street_keys) and self.street_keys[i].startswith(prefix):
            rank = 0 if self.street_keys[i] == prefix else 1
            for sid in self.street_key_sids[i]:
                found[sid] = min(found.get(sid, 9), rank)
            i += 1
        if not found and words and not partial and words[-1] in tables().suffixes.values():
            return self._streets(words[:-1], "")  # "KINGSHIGHWAY ST" for N KINGSHIGHWAY
        if not found and len(prefix) >= 3:
            cut = [k[: len(prefix)] for k in self.street_keys]
            for _, score, i in process.extract(
                prefix, cut, scorer=fuzz.ratio, limit=8, score_cutoff=FUZZY_PREFIX_CUTOFF
            ):
                for sid in self.street_key_sids[i]:
                    found[sid] = min(found.get(sid, 9), 2 + int(100 - score))
        return sorted(
            ((r, sid) for sid, r in found.items()), key=lambda x: (x[0], self._label(x[1]))
        )

    def _label(self, sid: int) -> str:
        return self.index.layer.street_labels[sid]

    # -- the answer ------------------------------------------------------------------------------
    def suggest(self, text: str, limit: int = 10) -> list[Suggestion]:
        """Up to ``limit`` completions, best first (see module doc)."""
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_ADDRESS_LENGTH:
            return []
        limit = int(limit)
        if limit <= 0:
            return []
        number, words, partial = self._read(text)
        if not number and not words and not partial:
            return []
        streets = self._streets(words, partial) if (words or partial) else None
        out: list[Suggestion] = []
        if not number:
            for _, sid in streets or []:
                site = self.street_point[sid]
                if site >= 0:
                    out.append(self._suggestion(site, self._label(sid)))
                if len(out) >= limit:
                    break
            return out
        if streets is None:  # a number alone: every address whose number starts with it
            i = bisect.bisect_left(self.all_numbers, number)
            while i < len(self.all_numbers) and self.all_numbers[i].startswith(number):
                out.append(self._suggestion(self.all_sites[i]))
                if len(out) >= limit:
                    break
                i += 1
            return out
        picks: list[tuple[tuple, int]] = []
        for order, (rank, sid) in enumerate(streets):
            numbers, sites = self.street_numbers[sid]
            i = bisect.bisect_left(numbers, number)
            taken = 0
            while i < len(numbers) and numbers[i].startswith(number) and taken < limit:
                other = numbers[i] != number
                picks.append(((other, rank, len(numbers[i]), numbers[i], order), sites[i]))
                taken += 1
                i += 1
        picks.sort(key=lambda p: p[0])
        out = [self._suggestion(site) for _, site in picks[:limit]]
        digits = re.match(r"\d+", number)  # a number starts with digits (``_NUMBER_START``)
        if not out and digits:  # no such number: where it would be, between its neighbours
            value = int(digits.group())
            for _, sid in streets[:limit]:
                point = self.index.interpolate(sid, value)
                if point is not None:
                    out.append(Suggestion(f"{number} {self._label(sid)}", point[0], point[1]))
        return out

    def _suggestion(self, site: int, label: str | None = None) -> Suggestion:
        return Suggestion(
            address=label or self.site_label[site],
            lon=float(self.index.site_lon[site]),
            lat=float(self.index.site_lat[site]),
        )
