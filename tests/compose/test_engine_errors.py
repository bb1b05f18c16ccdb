"""What the harness says when there is no Docker engine to be had: a clear error, not a wait."""

from __future__ import annotations

import os

import pytest

import engine


def test_an_engine_named_by_docker_host_that_does_not_answer_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(engine.EngineUnavailable, match=r"no Docker engine answers at DOCKER_HOST=unix://"):
        engine.start(tmp_path)


def test_no_dockerd_to_start_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "answers", lambda: False)  # as on a machine where no engine runs
    expected = "there is no no-such-dockerd to start" if os.geteuid() == 0 else "only root can start dockerd"
    with pytest.raises(engine.EngineUnavailable, match=expected):
        engine.start(tmp_path, dockerd="no-such-dockerd")
