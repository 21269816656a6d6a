"""Node and scene names, end to end (issue 12, D18). The engine holds the one
rule for node names (`kr_field_name`): 1–63 bytes, no control characters, and
no empty part around a '/' (which separates a group from its members). The
Python API checks only that a name is a string and relays the engine's
message, so the two cannot disagree.
"""

from __future__ import annotations

import pytest

from krach.errors import KrachError
from session_support import fresh, tone


@pytest.mark.parametrize("name", ["/", "a/", "/a", "a//b"])
def test_a_node_name_with_an_empty_part_is_refused(start_engine, name: str):
    kr = fresh(start_engine)
    with pytest.raises(KrachError) as err:
        kr.node(name, tone, freq=200.0)
    assert err.value.code == "bad_value"
    assert "empty part" in str(err.value) and "'drums/kick'" in str(err.value)
    kr.node("drums/kick", tone, freq=200.0)  # a group member is a fine name
    assert [n["name"] for n in kr.request("nodes")["nodes"]] == ["drums/kick"]
    with pytest.raises(KrachError) as err:  # "" names no node and no group
        kr.request("mute", name="")
    assert err.value.code == "unknown_node"


def test_an_empty_scene_name_gets_a_scene_message(start_engine):
    kr = fresh(start_engine)
    with pytest.raises(KrachError) as err:
        kr.request("scene_save", name="")
    assert err.value.code == "bad_value"
    assert "a scene name must have 1 to 63 bytes" in str(err.value)
    assert "node" not in str(err.value)
