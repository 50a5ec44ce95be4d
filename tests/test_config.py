"""Settings (core.config): the live view's ICE servers, read from ARL_ICE_SERVERS or secrets."""

import json

import pytest

from core.config import PUBLIC_STUN, Settings
from core.errors import ActionLabError


def test_ice_servers_default_to_a_public_stun_server(monkeypatch):
    monkeypatch.delenv("ARL_ICE_SERVERS", raising=False)
    assert Settings.from_env().rtc_configuration == {"iceServers": json.loads(PUBLIC_STUN)}


def test_ice_servers_come_from_the_environment_before_secrets_and_empty_means_none(monkeypatch):
    turn = '[{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "c"}]'
    monkeypatch.delenv("ARL_ICE_SERVERS", raising=False)
    servers = Settings.from_env(fallback={"ARL_ICE_SERVERS": turn}).rtc_configuration["iceServers"]
    assert servers == [{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "c"}]
    monkeypatch.setenv("ARL_ICE_SERVERS", "")
    assert Settings.from_env(fallback={"ARL_ICE_SERVERS": turn}).rtc_configuration == {"iceServers": []}


NOT_SERVERS = ["stun:stun.example.org", '{"urls": "stun:x"}', '[{"url": "stun:x"}]', '[{"urls": []}]', "[{"]


@pytest.mark.parametrize("value", NOT_SERVERS)
def test_ice_servers_that_are_no_list_of_servers_are_refused_in_words(monkeypatch, value):
    monkeypatch.setenv("ARL_ICE_SERVERS", value)
    with pytest.raises(ActionLabError, match="ARL_ICE_SERVERS must be a JSON list of ICE servers"):
        Settings.from_env()
