"""Scripts as data: the model of a script file, its loader/validator and the greeting rules.

The state machine that plays a script is `softphone_assist.core.script.engine`.
"""

from softphone_assist.core.script.greeting import GreetingRules, HolidayRule, TimeOfDayRule
from softphone_assist.core.script.loader import available_locales, load_script
from softphone_assist.core.script.model import LADDER_PROTOCOLS, LADDER_SHAPES, Ladder, Script, Step, Timing

__all__ = [
    "LADDER_PROTOCOLS",
    "LADDER_SHAPES",
    "GreetingRules",
    "HolidayRule",
    "Ladder",
    "Script",
    "Step",
    "TimeOfDayRule",
    "Timing",
    "available_locales",
    "load_script",
]
