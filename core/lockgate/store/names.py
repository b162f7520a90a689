"""Readable default run names such as ``brave-otter-417``."""

from __future__ import annotations

import random

__all__ = ["generate_run_name"]

_ADJECTIVES = (
    "amber", "brave", "calm", "clever", "crisp", "daring", "eager", "fancy", "gentle", "glad",
    "golden", "honest", "humble", "jolly", "keen", "lively", "lucky", "mellow", "merry", "nimble",
    "noble", "polite", "proud", "quick", "quiet", "rapid", "shy", "silent", "sleek", "steady",
    "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "zesty",
)
_NOUNS = (
    "badger", "bison", "crane", "dolphin", "eagle", "falcon", "ferret", "finch", "fox", "gecko",
    "heron", "ibis", "jaguar", "koala", "lark", "lemur", "lynx", "marten", "moose", "newt",
    "ocelot", "otter", "owl", "panda", "puffin", "quail", "raven", "robin", "seal", "sparrow",
    "stoat", "swan", "tapir", "tern", "viper", "walrus", "wren", "yak", "zebra",
)


def generate_run_name() -> str:
    """A random adjective-animal-number name; unique enough to tell runs apart at a glance."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"
