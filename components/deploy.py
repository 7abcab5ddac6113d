"""The deployer's settings, from Streamlit secrets (top-level keys) or the environment, secrets first; and
public mode's policy (see :mod:`xray.deploy`)."""

from __future__ import annotations

import os

import streamlit as st

from xray.deploy import PUBLIC_ENV, USER_KEYS_ENV, PublicPolicy, environment_settings, is_on, public_policy
from xray.models.loading import KNOWN_MODELS


def _secret_table(section: str | None = None) -> dict[str, str]:
    """Streamlit's secrets, or one ``[section]`` of them, as strings ("" for an empty value); empty where the app
    has no secrets file or no such section."""
    try:
        table = st.secrets if section is None else st.secrets.get(section, {})
        return {key: "" if value is None else str(value) for key, value in table.items()}
    except (FileNotFoundError, KeyError, AttributeError, st.errors.StreamlitSecretNotFoundError):
        return {}


def _secrets() -> dict[str, str]:
    return {key: value for key, value in _secret_table().items() if key.startswith("XRAY_")}


def endpoint_settings() -> tuple[str, str, str]:
    """The deployer's language-model endpoint (base_url, model, api_key): the secrets' ``[llm]`` section first,
    then the environment; "" where unset."""
    llm = _secret_table("llm")
    base_url = llm.get("base_url") or os.environ.get("XRAY_LLM_BASE_URL", "")
    model = llm.get("model") or os.environ.get("XRAY_LLM_MODEL", "")
    key = llm.get("api_key") or os.environ.get("XRAY_LLM_API_KEY", "") or os.environ.get("OPENAI_API_KEY", "")
    return base_url, model, key


def deployment_settings() -> dict[str, str]:
    return environment_settings() | _secrets()


def current_policy() -> PublicPolicy | None:
    """Public mode's policy, or None when the app runs for one user (the default)."""
    return public_policy(deployment_settings(), KNOWN_MODELS)


def is_public() -> bool:
    return is_on(deployment_settings().get(PUBLIC_ENV, ""))


def user_keys_allowed() -> bool:
    """Whether a user may type their own API key for the session (``XRAY_ALLOW_USER_KEYS``; outside public mode
    always: the user is the deployer)."""
    return not is_public() or is_on(deployment_settings().get(USER_KEYS_ENV, ""))
