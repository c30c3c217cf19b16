"""A UCWA 2.0 server double: Skype for Business Server as a client sees it, on loopback.

It follows the UCWA 2.0 reference (discovery, OAuth password grant, applications, the event
channel, batching, conversation logs, missedItems and continuePhoneAudio) and adds a control API
to inject faults and inspect what the client sent. See `Simulator`.
"""

from simulator.config import PROFILES, CallbackOutcome, SimulatorConfig
from simulator.seed import Seed, default_seed, load_seed
from simulator.server import Simulator
from simulator.state import ConversationLogRecord, RecordedRequest, User

__all__ = [
    "PROFILES",
    "CallbackOutcome",
    "ConversationLogRecord",
    "RecordedRequest",
    "Seed",
    "Simulator",
    "SimulatorConfig",
    "User",
    "default_seed",
    "load_seed",
]
