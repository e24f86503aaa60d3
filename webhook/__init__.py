"""bindcheck: admission webhook and CI checker for wasmCloud named host interfaces."""

from webhook.core import Outcome, Validator, build_validator
from webhook.violations import Action, Policy, Reason, Violation

__version__ = "0.1.0"
__all__ = [
    "Action",
    "Outcome",
    "Policy",
    "Reason",
    "Validator",
    "Violation",
    "__version__",
    "build_validator",
]
