"""The deployer's settings, from Streamlit secrets (top-level keys) or the environment, secrets first; and
public mode's policy (see :mod:`xray.deploy`)."""

from __future__ import annotations

import streamlit as st

from xray.deploy import PUBLIC_ENV, USER_KEYS_ENV, PublicPolicy, environment_settings, is_on, public_policy
from xray.models.loading import KNOWN_MODELS


def _secrets() -> dict[str, str]:
    try:
        return {key: str(value) for key, value in st.secrets.items() if key.startswith("XRAY_")}
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return {}


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
