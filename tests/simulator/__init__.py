"""A stand-in for the Microsoft Defender for Endpoint API and the Entra ID token service, for tests.

Start it in-process with ``Simulator`` (see server.py) or as a process with ``python -m tests.simulator``;
README.md in this folder describes both, every switch and fault, and the admin API.
"""

from .server import Simulator

__all__ = ["Simulator"]
