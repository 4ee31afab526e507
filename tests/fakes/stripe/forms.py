"""Stripe's form encoding, as the SDK sends it: ``a[b][c]=v``, ``items[0][price]=v``, ``expand[]=v``."""

from __future__ import annotations

import re


def decode_tree(pairs) -> dict:
    """The pairs as nested dicts, every leaf a string; ``x[]`` and ``x[0]`` become keys "0", "1", ...

    Whether a node is an array or a hash is the spec's call (``spec.check``): ``metadata[0]`` is a
    hash key, ``line_items[0]`` an array index.
    """
    root: dict = {}
    for key, value in pairs:
        path = re.split(r"\]?\[", key[:-1] if key.endswith("]") else key)
        node = root
        for segment in path[:-1]:
            segment = segment or str(len(node))
            if not isinstance(node.get(segment), dict):
                node[segment] = {}
            node = node[segment]
        node[path[-1] or str(len(node))] = value
    return root


def decode_params(pairs) -> dict:
    """The pairs as the request log shows them: nested data of strings, digit-keyed nodes as lists
    (but ``metadata``, whose keys may be digits and which is always a hash)."""
    return {k: _listify(v, k) for k, v in decode_tree(pairs).items()}


def _listify(node, key):
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v, k) for k, v in node.items()}
    if node and key != "metadata" and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node
