"""Giving memory back: glibc keeps the heap a process has freed for itself, and a server that runs batches of
varying size (store builds, forward passes over record texts) piles up hundreds of MB of it; importing this module
costs nothing (no torch, no numpy), so the app's entry point can use it after every page run."""

from __future__ import annotations

import ctypes


def release_free_memory() -> None:
    """Hand the heap's free memory back to the operating system (glibc's ``malloc_trim``; a no-op elsewhere).

    Measured here: 370 MB of the server's resident memory after building the default store; 270 MB after the
    Neuron explanations page timed the baseline on 256 record texts."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)
