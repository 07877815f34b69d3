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

import numpy as np

from .groups import Slices
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
        labels = index.site_addresses()
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        #: sites whose address reads like another site's: their label adds the ZIP
        self._with_zip = np.array([counts[label] > 1 for label in labels], dtype=bool)
        zips = layer.zip.take(index.site_row)
        shown = [
            f"{label}, {z}" if twin else label
            for label, z, twin in zip(labels, zips, self._with_zip.tolist(), strict=True)
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
        # each street's sites by number as text, and all sites by (number, label): flat arrays.
        # A number's place among the layer's distinct numbers sorted as text (a few thousand:
        # ``_numbers``) is its rank; sites in number order are in rank order, and a typed
        # number is found by one bisect in the short list, one searchsorted in the ranks
        values = layer.number.values
        order = sorted(range(len(values)), key=values.__getitem__)
        self._numbers = [values[c] for c in order]
        rank_of = np.empty(len(values), dtype=np.int32)
        rank_of[np.asarray(order, dtype=np.int64)] = np.arange(len(values), dtype=np.int32)
        self._site_rank = rank_of[layer.number.codes[index.site_row]]
        by_street = []
        for sid in range(len(index.streets)):
            sites = index.street_all[sid]
            by_street.append(sites[np.lexsort((sites, self._site_rank[sites]))])
        self.street_numbers = Slices(by_street)
        self._street_ranks = Slices([self._site_rank[sites] for sites in by_street])
        everything = sorted(zip(self._site_rank.tolist(), shown, range(n_sites), strict=True))
        self.all_sites = np.array([e[2] for e in everything], dtype=np.int64)
        self._all_ranks = self._site_rank[self.all_sites]
        # a point for each street: the middle of its spread
        self.street_point: list[int] = []
        for sid in range(len(index.streets)):
            spread = index.spread_sites(sid)
            self.street_point.append(spread[len(spread) // 2] if spread else -1)

    def _number(self, site: int) -> str:
        """A site's house number as the layer writes it."""
        return self._numbers[self._site_rank[site]]

    def _first(self, ranks: np.ndarray, number: str) -> int:
        """Where the first number not before ``number`` (as text) is, in ranks in order."""
        # (an int32 to search int32 ranks: a Python int would have numpy copy them to int64)
        return int(ranks.searchsorted(np.int32(bisect.bisect_left(self._numbers, number))))

    def site_label(self, site: int) -> str:
        """A site's address as a suggestion shows it (with the ZIP when another reads the same)."""
        index = self.index
        layer = index.layer
        label = f"{self._number(site)} {layer.street_labels[index.site_sid[site]]}"
        return f"{label}, {layer.zip[index.site_row[site]]}" if self._with_zip[site] else label

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
            from rapidfuzz import fuzz, process  # loaded when a prefix matches no street key

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
            every, ranks = self.all_sites, self._all_ranks
            i = self._first(ranks, number)
            while i < len(every) and self._numbers[ranks[i]].startswith(number):
                out.append(self._suggestion(int(every[i])))
                if len(out) >= limit:
                    break
                i += 1
            return out
        picks: list[tuple[tuple, int]] = []
        for order, (rank, sid) in enumerate(streets):
            sites, ranks = self.street_numbers[sid], self._street_ranks[sid]
            i = self._first(ranks, number)
            taken = 0
            while i < len(sites) and taken < limit:
                site = int(sites[i])
                text = self._numbers[ranks[i]]
                if not text.startswith(number):
                    break
                picks.append(((text != number, rank, len(text), text, order), site))
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
            address=label or self.site_label(site),
            lon=float(self.index.site_lon[site]),
            lat=float(self.index.site_lat[site]),
        )
