"""Registry behaviour: duplicates rejected, "did you mean", entry-point plugin discovery."""

from __future__ import annotations

import logging

import pytest

import xaibench.registry as registry_module
from xaibench.errors import DuplicateNameError, UnknownNameError
from xaibench.registry import Registry


class Widget:
    name = "widget_a"


class OtherWidget:
    name = "widget_a"


def test_duplicate_names_are_rejected():
    reg = Registry("widget")
    reg.add("widget_a", Widget)
    reg.add("widget_a", Widget)  # the same entry again (a module re-imported) is fine
    with pytest.raises(DuplicateNameError, match="registered twice"):
        reg.add("widget_a", OtherWidget)


def test_unknown_name_suggests_close_and_abbreviated_names():
    reg = Registry("method")
    for name in ("integrated_gradients", "input_x_gradient", "saliency"):
        reg.add(name, type(name, (), {}))
    with pytest.raises(UnknownNameError) as info:
        reg.get("intgrad")
    assert info.value.suggestions[0] == "integrated_gradients"
    assert "Did you mean 'integrated_gradients'" in str(info.value)
    assert reg.suggest("salency") == ["saliency"]
    assert reg.suggest("zzz") == []


class FakeEntryPoint:
    def __init__(self, name, load):
        self.name, self._load = name, load

    def load(self):
        return self._load()


def test_plugins_are_discovered_through_entry_points(monkeypatch, caplog):
    reg = Registry("widget", (), "xaibench.widgets")
    seen_groups = []

    def register_plugin():
        reg.add("third_party_widget", Widget)

    def broken_plugin():
        raise ImportError("missing dependency")

    def fake_entry_points(group):
        seen_groups.append(group)
        return [FakeEntryPoint("good", register_plugin), FakeEntryPoint("bad", broken_plugin)]

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    with caplog.at_level(logging.WARNING, logger="xaibench.registry"):
        assert reg.get("third_party_widget") is Widget  # a broken plugin does not break the others
    assert seen_groups == ["xaibench.widgets"]
    assert "could not load widget plugin 'bad'" in caplog.text


def test_toy_plugins_register_through_the_public_decorators(registered_toys):
    import xaibench

    method = xaibench.get_method("toy_noisy", scale=0.1)
    assert method.params == {"scale": 0.1} and method.stochastic
    assert xaibench.get_metric("toy_gt_error").requires == frozenset({"ground_truth"})
