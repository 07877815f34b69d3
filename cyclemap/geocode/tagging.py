"""usaddress's tagging, remembered by what its model sees (``tag``: ``usaddress.tag``'s answer).

``usaddress`` labels the tokens of an address with a CRF model whose input is, per token, the
features ``usaddress.tokenFeatures`` makes of it (with its neighbours'): the labels of a token
sequence depend on nothing else. Most tokens that differ are house numbers and unit numbers,
and two runs of digits of one length with the same trailing zeros have the same features
(``117`` and ``243``: ``d:3``, no trailing zero). So the labels are kept by the token sequence with
each such run written as its class (``117`` -> ``111``), and ``12 OAK ST`` answers ``48 OAK ST``
without the model: every house on a street (and every unit in a building) is labelled by one
run of the model. The labels are the model's own; what ``tag`` builds from them is
``usaddress.tag``'s code, kept line for line (``tests/test_normalize.py`` holds the two equal).

>>> tag("117 S SPRIGG ST")
{'AddressNumber': '117', 'StreetNamePreDirectional': 'S', 'StreetName': 'SPRIGG', \
'StreetNamePostType': 'ST'}
>>> tag("243 S SPRIGG ST")["AddressNumber"], labels.cache_info().hits >= 1
('243', True)
"""

from __future__ import annotations

import functools

# usaddress (its CRF model, ~25 ms to load) is imported on the first parse, in the functions
# below: a lookup of an address as the layer writes it is answered by the exact step and never
# parses (a cold ``cyclemap lookup`` of one need not load it)

__all__ = ["feature_class", "labels", "tag"]


def feature_class(token: str) -> str:
    """A token with the same ``usaddress.tokenFeatures`` as ``token``: an ASCII run of digits as
    ``1``s then its trailing zeros (``1200`` -> ``1100``), any other token itself.

    >>> feature_class("1200"), feature_class("7"), feature_class("0"), feature_class("12B")
    ('1100', '1', '0', '12B')
    """
    if token.isdigit() and token.isascii():
        body = token.rstrip("0")
        return "1" * len(body) + "0" * (len(token) - len(body))
    return token


@functools.lru_cache(maxsize=65536)
def labels(classes: tuple[str, ...]) -> tuple[str, ...]:
    """The model's labels for a token sequence written as feature classes (``feature_class``)."""
    import usaddress

    return tuple(usaddress.TAGGER.tag(usaddress.tokens2features(list(classes))))


def parse(text: str) -> list[tuple[str, str]]:
    """``usaddress.parse(text)``: each token with its label."""
    import usaddress

    tokens = usaddress.tokenize(text)
    if not tokens:
        return []
    return list(zip(tokens, labels(tuple(map(feature_class, tokens))), strict=True))


def tag(text: str) -> dict[str, str]:
    """``usaddress.tag(text)[0]``: the components by label, in order; ``RepeatedLabelError`` as it.

    The grouping is ``usaddress.tag``'s (without a tag mapping): a label that comes back after
    another raises, an intersection's second street is ``Second...``.
    """
    components: dict[str, list[str]] = {}
    last = None
    intersection = False
    for token, label in parse(text):
        if label == "IntersectionSeparator":
            intersection = True
        if "StreetName" in label and intersection:
            label = "Second" + label
        if label == last:
            components[label].append(token)
        elif label not in components:
            components[label] = [token]
        else:
            import usaddress

            raise usaddress.RepeatedLabelError(text, parse(text), label)
        last = label
    return {label: " ".join(tokens).strip(" ,;") for label, tokens in components.items()}
