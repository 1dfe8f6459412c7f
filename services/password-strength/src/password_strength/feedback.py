"""Advice for the user: zxcvbn's when it has some, ours when only the model saw the weakness."""

from __future__ import annotations

from dataclasses import dataclass

RESEMBLES_COMMON = "This resembles commonly used passwords."
ADD_WORDS = "Add another word or two. Uncommon words are better."
AVOID_PATTERNS = ("Avoid predictable changes such as a capital first letter, swapped letters "
                  "or digits and symbols added at the end.")


@dataclass(frozen=True)
class Feedback:
    warning: str = ""
    suggestions: tuple[str, ...] = ()


def combine(score: int, zxcvbn_feedback: object | None, model_was_lower: bool) -> Feedback:
    if score >= 3:
        return Feedback()
    warning, suggestions = _from_zxcvbn(zxcvbn_feedback)
    if model_was_lower:
        warning = warning or RESEMBLES_COMMON
        suggestions = _unique((*suggestions, ADD_WORDS, AVOID_PATTERNS))
    if not suggestions:
        suggestions = (ADD_WORDS,)
    return Feedback(warning=warning, suggestions=suggestions)


def _from_zxcvbn(feedback: object | None) -> tuple[str, tuple[str, ...]]:
    if feedback is None:
        return "", ()
    warning = getattr(feedback, "warning", None)
    suggestions = getattr(feedback, "suggestions", None) or ()
    return (str(warning) if warning is not None else "", tuple(str(s) for s in suggestions))


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
