"""Presence in Home Assistant's words: the sensor's states, "on a call", the select's options.

UCWA's presence has two properties (presence_ref.md): `availability`, an Availability_ref.md value
the server aggregates over all of the user's devices, and `activity`, a well-known token
(`on-the-phone`, `in-a-conference`, ...) or text localized in the application's culture ("In a
call"). The entities show availability as snake_case states and read the activity for what it
says about calls; the rules live here, apart from the entities, so each is tested as a table.
"""

from __future__ import annotations

import re
from typing import Final

from .api import Presence

# The presence sensor's states: Availability_ref.md in snake_case, and off work, which the
# server publishes as Away with the activity `off-work` (contactPresence_ref.md's well-known
# token) or, should a server echo PreferredAvailability's spelling, as `Offwork`.
ONLINE: Final = "online"
IDLE_ONLINE: Final = "idle_online"
BUSY: Final = "busy"
IDLE_BUSY: Final = "idle_busy"
DO_NOT_DISTURB: Final = "do_not_disturb"
BE_RIGHT_BACK: Final = "be_right_back"
AWAY: Final = "away"
OFF_WORK: Final = "off_work"
OFFLINE: Final = "offline"
PRESENCE_STATES: Final = [
    ONLINE,
    IDLE_ONLINE,
    BUSY,
    IDLE_BUSY,
    DO_NOT_DISTURB,
    BE_RIGHT_BACK,
    AWAY,
    OFF_WORK,
    OFFLINE,
]
_AVAILABILITY_STATES: Final = {
    "online": ONLINE,
    "idleonline": IDLE_ONLINE,
    "busy": BUSY,
    "idlebusy": IDLE_BUSY,
    "donotdisturb": DO_NOT_DISTURB,
    "berightback": BE_RIGHT_BACK,
    "away": AWAY,
    "offwork": OFF_WORK,
    "offline": OFFLINE,
}

# The availability select: automatic (the server decides) and the six PreferredAvailability_ref.md
# values a user may choose, in the order Skype for Business menus list them.
AUTOMATIC: Final = "automatic"
AVAILABILITY_OPTIONS: Final = [
    AUTOMATIC,
    ONLINE,
    BUSY,
    DO_NOT_DISTURB,
    BE_RIGHT_BACK,
    AWAY,
    OFF_WORK,
]
PREFERRED_AVAILABILITY_OF: Final = {
    ONLINE: "Online",
    BUSY: "Busy",
    DO_NOT_DISTURB: "DoNotDisturb",
    BE_RIGHT_BACK: "BeRightBack",
    AWAY: "Away",
    OFF_WORK: "Offwork",
}

# Activities that mean a call or a conference on some device: contactPresence_ref.md's
# well-known tokens on-the-phone, in-a-conference and presenting, MeDashboard.md's in-a-call, and
# what the English culture of the application spells them ("In a call", "In a conference call").
# A calendar meeting (`in-a-meeting`) is not a call.
CALL_ACTIVITIES: Final = frozenset(
    {"on-the-phone", "in-a-call", "in-a-conference", "in-a-conference-call", "presenting"}
)
OFF_WORK_ACTIVITY: Final = "off-work"
# Activities the server's own logic sets with Busy or DoNotDisturb: a call, a meeting in the
# calendar, a presentation. A Busy or DoNotDisturb without one of them was chosen by someone.
_AUTOMATIC_ACTIVITIES: Final = CALL_ACTIVITIES | {"in-a-meeting"}
# States only the server's logic produces (sign-in, idle timeouts, every device signed out);
# a manual "Available" or "Appear away" chosen elsewhere cannot be told apart from them.
_AUTOMATIC_STATES: Final = frozenset({ONLINE, IDLE_ONLINE, IDLE_BUSY, AWAY, OFFLINE})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def activity_token(activity: str | None) -> str | None:
    """Spell an activity as a well-known token: `In a call` and `InACall` become `in-a-call`.

    Tokens pass unchanged; localized text and camelCase are lowered and joined by hyphens, so
    one comparison serves every form a server sends.
    """
    if not activity:
        return None
    token = _SEPARATORS.sub("-", _CAMEL.sub("-", activity.strip()).lower()).strip("-")
    return token or None


def presence_state(presence: Presence | None) -> str | None:
    """Return the presence sensor's state; None (unknown) for a value the reference does not list."""
    if presence is None or not presence.availability:
        return None
    state = _AVAILABILITY_STATES.get(_SEPARATORS.sub("", presence.availability.lower()))
    if state == AWAY and activity_token(presence.activity) == OFF_WORK_ACTIVITY:
        return OFF_WORK
    return state


def is_in_a_call(presence: Presence | None) -> bool:
    """Whether the activity says the user is in a call or conference, on any device."""
    return presence is not None and activity_token(presence.activity) in CALL_ACTIVITIES


def availability_option(presence: Presence | None, shown: str | None) -> str | None:
    """Return the option the availability select shows for a presence the server pushed.

    The select says what the user has chosen, not what the sensor shows: when the server's own
    logic changes presence (idle, then away; busy during a call or meeting) it stays `automatic`,
    and when someone chooses a state on another device it shows that state. UCWA does not say
    which is which, so the rules go by what only the server does:

    - the state this select shows already (the user chose it here) stays while presence agrees;
    - Online, IdleOnline, IdleBusy, Away and Offline are `automatic`;
    - Busy and DoNotDisturb are `automatic` while the activity is a call, a conference, a
      presentation or a meeting, else someone chose them;
    - BeRightBack and off work are always someone's choice.

    `shown` is the select's current option (None before any), so a choice stays put and the
    function gives the same answer when asked again.
    """
    state = presence_state(presence)
    if state is None:
        return shown
    if state == shown:
        return shown
    if state in _AUTOMATIC_STATES:
        return AUTOMATIC
    if state in (BUSY, DO_NOT_DISTURB) and (
        activity_token(presence.activity if presence else None) in _AUTOMATIC_ACTIVITIES
    ):
        return AUTOMATIC
    return state
