"""AAPOR final disposition codes for a named-person list sample rung by telephone, and the
rates built on them.

Codes follow AAPOR's Standard Definitions (the telephone table), read for a sample of named
victims at numbers the force recorded: every victim in the sample is eligible by how the
sample was drawn, so what is uncertain is the number, not the person.

- Only the victim confirming who they are makes a contact: silence, a hang-up or no usable
  answer at the identity check is "no screener completed" (3.21), retried within the policy.
- Someone saying the victim is not available now books a call-back; if the victim is never
  reached, that is "respondent never available" (2.21), as is a victim who said it was not
  safe to talk, or asked to be called back, and was never interviewed.
- "Nobody of that name at this number" is a wrong number (3.91, in AAPOR's "other, unknown
  eligibility" group): the victim is not ineligible, the number is not theirs.
- A break-off (2.12) or a partial (1.2) needs the identity check passed first; which of the
  two depends on the questionnaire's partial threshold.
- A case never rung before its calling period ran out is "not attempted" (3.11); "out of
  sample" (4.10) is only for cases outside the survey's population (crime type not covered,
  under 16, no consent at closure) or withdrawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum, StrEnum

from ivr.questionnaire.calling import FINAL_OUTCOMES, Outcome


class RateGroup(StrEnum):
    """The letters AAPOR's rate formulas use."""

    I = "I"  # noqa: E741 - AAPOR's own name: complete interview
    P = "P"  # partial interview
    R = "R"  # refusal and break-off
    NC = "NC"  # non-contact
    O = "O"  # noqa: E741 - other eligible non-interview
    UH = "UH"  # unknown if household/occupied (here: unknown if the number is the victim's)
    UO = "UO"  # unknown, other
    NE = "NE"  # not eligible


class Disposition(Enum):
    """An AAPOR final disposition: ``.code`` such as "1.1", ``.label`` and ``.group``.

    ``final_disposition`` never gives 2.22, 2.32, 3.90 or 4.30: they need a person's
    judgement (a greeting naming the victim, an operator's note, a number-unobtainable
    tone). 4.70 and 4.80 are a survey of the public's: nobody at the number in its
    population (no resident aged 16 or over, or not living in the area), and a respondent
    whose quota cell was full.
    """

    COMPLETE = ("1.1", "Complete", RateGroup.I)
    PARTIAL = ("1.2", "Partial", RateGroup.P)
    REFUSAL = ("2.11", "Refusal", RateGroup.R)
    BREAK_OFF = ("2.12", "Break-off", RateGroup.R)
    RESPONDENT_NEVER_AVAILABLE = ("2.21", "Respondent never available", RateGroup.NC)
    ANSWERING_MACHINE_RESPONDENT = (
        "2.22",
        "Answering machine, respondent's number, no message left",
        RateGroup.NC,
    )
    UNABLE = ("2.32", "Physically or mentally unable/incompetent", RateGroup.O)
    NOT_ATTEMPTED = ("3.11", "Not attempted or worked", RateGroup.UH)
    ALWAYS_BUSY = ("3.12", "Always busy", RateGroup.UH)
    NO_ANSWER = ("3.13", "No answer", RateGroup.UH)
    ANSWERING_MACHINE_UNKNOWN = ("3.14", "Answering machine, don't know if eligible", RateGroup.UH)
    TECHNICAL_PROBLEMS = ("3.16", "Technical phone problems", RateGroup.UH)
    NO_SCREENER = ("3.21", "Answered, identity not confirmed (no screener completed)", RateGroup.UO)
    OTHER_UNKNOWN = ("3.90", "Other, unknown eligibility", RateGroup.UO)
    WRONG_NUMBER = ("3.91", "Wrong number: nobody of that name at this number", RateGroup.UO)
    OUT_OF_SAMPLE = ("4.10", "Out of sample", RateGroup.NE)
    NON_WORKING = ("4.30", "Non-working number", RateGroup.NE)
    NO_ELIGIBLE_RESPONDENT = ("4.70", "No eligible respondent", RateGroup.NE)
    QUOTA_FILLED = ("4.80", "Quota filled", RateGroup.NE)

    def __init__(self, code: str, label: str, group: RateGroup) -> None:
        self.code = code
        self.label = label
        #: The letter this code counts under in the rate formulas.
        self.group = group

    @classmethod
    def from_code(cls, code: str) -> Disposition:
        """The disposition with AAPOR code ``code``."""
        for disposition in cls:
            if disposition.code == code:
                return disposition
        raise ValueError(f"'{code}' is not a disposition code this platform uses")


def final_disposition(
    outcomes: Sequence[Outcome | str],
    *,
    attempts_exhausted: bool,
    out_of_sample: bool = False,
    partial_threshold_met: bool = False,
) -> Disposition | None:
    """A case's final disposition from its calls' outcomes, or None while it is worked.

    A case is closed by a final outcome, by ``attempts_exhausted`` (no attempts left, or the
    calling period ended: AAPOR keeps such cases in the denominator), or by
    ``out_of_sample`` (withdrawn by the force or found outside the survey's population).
    The most informative outcome wins, as AAPOR recommends over "the last one":
    an interview (1.1; an interview that stopped early is 1.2 when it met the survey's
    partial threshold), then a refusal (an opt-out is a do-not-call request, which AAPOR
    codes as a refusal), a break-off (2.12), a wrong number (3.91); then, among the rest,
    a victim who was reached but could not talk or asked to be rung back (2.21), a human
    who did not confirm identity (3.21), an answering machine (3.14; 2.22 needs a greeting
    that names the victim, which only a person can judge), busy on every attempt (3.12),
    any ringing without answer (3.13), only network failures (3.16), and nothing that
    reached the network (3.11).
    """
    seen = {Outcome(outcome) for outcome in outcomes}
    if not (attempts_exhausted or out_of_sample or seen & FINAL_OUTCOMES):
        return None
    if Outcome.COMPLETED_INTERVIEW in seen:
        return Disposition.COMPLETE
    if Outcome.PARTIAL in seen and partial_threshold_met:
        return Disposition.PARTIAL
    if seen & {Outcome.REFUSED, Outcome.OPTED_OUT}:
        return Disposition.REFUSAL
    if Outcome.PARTIAL in seen:
        return Disposition.BREAK_OFF
    if Outcome.WRONG_NUMBER in seen:
        return Disposition.WRONG_NUMBER
    if Outcome.SCREENED_OUT in seen:
        return Disposition.NO_ELIGIBLE_RESPONDENT
    if Outcome.QUOTA_FULL in seen:
        return Disposition.QUOTA_FILLED
    if out_of_sample:
        return Disposition.OUT_OF_SAMPLE
    if seen & {Outcome.UNSAFE, Outcome.CALLBACK_REQUESTED}:
        return Disposition.RESPONDENT_NEVER_AVAILABLE
    if seen & {Outcome.NO_SCREENER, Outcome.INFO_MESSAGE}:
        return Disposition.NO_SCREENER
    if Outcome.MACHINE in seen:
        return Disposition.ANSWERING_MACHINE_UNKNOWN
    rang = seen & {Outcome.NO_ANSWER, Outcome.BUSY}
    if rang == {Outcome.BUSY}:
        return Disposition.ALWAYS_BUSY
    if rang:
        return Disposition.NO_ANSWER
    if Outcome.FAILED in seen:
        return Disposition.TECHNICAL_PROBLEMS
    return Disposition.NOT_ATTEMPTED


def _totals(counts: Mapping[Disposition, int]) -> dict[RateGroup, int]:
    totals = dict.fromkeys(RateGroup, 0)
    for disposition, count in counts.items():
        if count < 0:
            raise ValueError(f"{disposition.code}: count must not be negative, not {count}")
        totals[disposition.group] += count
    return totals


#: How ``estimate_e`` estimates e, in words, for a report to state as AAPOR asks.
E_METHOD = (
    "e, the share of cases of unknown eligibility (UH and UO) taken to be eligible, is "
    "estimated by proportional allocation (the CASRO method): the share of cases whose "
    "eligibility was settled that were eligible, (I + P + R + NC + O) / "
    "(I + P + R + NC + O + NE)."
)

#: The rates ``outcome_rates`` gives, in AAPOR's order.
RATE_NAMES = (
    "RR1",
    "RR2",
    "RR3",
    "RR4",
    "RR5",
    "RR6",
    "COOP1",
    "COOP2",
    "COOP3",
    "COOP4",
    "REF1",
    "REF2",
    "REF3",
    "CON1",
    "CON2",
    "CON3",
)


def estimate_e(counts: Mapping[Disposition, int]) -> float | None:
    """e by proportional allocation (see ``E_METHOD``), None with no case of known
    eligibility to estimate it from."""
    t = _totals(counts)
    eligible = t[RateGroup.I] + t[RateGroup.P] + t[RateGroup.R] + t[RateGroup.NC] + t[RateGroup.O]
    known = eligible + t[RateGroup.NE]
    return eligible / known if known else None


def outcome_rates(
    counts: Mapping[Disposition, int], e: float | None = None
) -> dict[str, float | None]:
    """AAPOR's response, cooperation, refusal and contact rates, as fractions 0..1.

    The formulas are AAPOR Standard Definitions' (10th edition, 2023), with U = UH + UO
    (cases of unknown eligibility) and e the share of them taken as eligible, which
    defaults to ``estimate_e(counts)``. A rate is None when its denominator is 0, and the
    rates that use e (RR3, RR4, REF2, CON2) are None when there are unknown cases and no
    e to apply to them. Ineligible cases (NE) are in no rate.

        RR1 = I / ((I + P) + (R + NC + O) + U)
        RR2 = (I + P) / ((I + P) + (R + NC + O) + U)
        RR3 = I / ((I + P) + (R + NC + O) + eU)
        RR4 = (I + P) / ((I + P) + (R + NC + O) + eU)
        RR5 = I / ((I + P) + (R + NC + O))
        RR6 = (I + P) / ((I + P) + (R + NC + O))
        COOP1 = I / ((I + P) + R + O)
        COOP2 = (I + P) / ((I + P) + R + O)
        COOP3 = I / ((I + P) + R)
        COOP4 = (I + P) / ((I + P) + R)
        REF1 = R / ((I + P) + (R + NC + O) + U)
        REF2 = R / ((I + P) + (R + NC + O) + eU)
        REF3 = R / ((I + P) + (R + NC + O))
        CON1 = ((I + P) + R + O) / ((I + P) + R + O + NC + U)
        CON2 = ((I + P) + R + O) / ((I + P) + R + O + NC + eU)
        CON3 = ((I + P) + R + O) / ((I + P) + R + O + NC)
    """
    t = _totals(counts)
    if e is None:
        e = estimate_e(counts)
    elif not 0.0 <= e <= 1.0:
        raise ValueError(f"e is a share of cases and must be between 0 and 1, not {e}")
    i, p, r = t[RateGroup.I], t[RateGroup.P], t[RateGroup.R]
    nc, o = t[RateGroup.NC], t[RateGroup.O]
    u = t[RateGroup.UH] + t[RateGroup.UO]
    interviews = i + p
    eligible = interviews + r + nc + o
    contacted = interviews + r + o
    # e * 0 is 0 whatever e is: without unknown cases the e-rates need no e.
    eu: float | None = 0.0 if u == 0 else (None if e is None else e * u)

    def rate(numerator: float, denominator: float | None) -> float | None:
        if denominator is None or denominator == 0:
            return None
        return numerator / denominator

    with_eu = None if eu is None else eligible + eu
    contacted_eu = None if eu is None else contacted + nc + eu
    return {
        "RR1": rate(i, eligible + u),
        "RR2": rate(interviews, eligible + u),
        "RR3": rate(i, with_eu),
        "RR4": rate(interviews, with_eu),
        "RR5": rate(i, eligible),
        "RR6": rate(interviews, eligible),
        "COOP1": rate(i, contacted),
        "COOP2": rate(interviews, contacted),
        "COOP3": rate(i, interviews + r),
        "COOP4": rate(interviews, interviews + r),
        "REF1": rate(r, eligible + u),
        "REF2": rate(r, with_eu),
        "REF3": rate(r, eligible),
        "CON1": rate(contacted, contacted + nc + u),
        "CON2": rate(contacted, contacted_eu),
        "CON3": rate(contacted, contacted + nc),
    }


def response_rate_rr1(counts: Mapping[Disposition, int]) -> float:
    """AAPOR Response Rate 1, 0.0 with no eligible or unknown cases.

    RR1 = I / ((I + P) + (R + NC + O) + (UH + UO)); ineligible cases (4.x) are left out.
    """
    return outcome_rates(counts)["RR1"] or 0.0


def cooperation_rate_coop1(counts: Mapping[Disposition, int]) -> float:
    """AAPOR Cooperation Rate 1, 0.0 with no contacted eligible cases.

    COOP1 = I / ((I + P) + R + O): completes among eligible people who were reached.
    """
    return outcome_rates(counts)["COOP1"] or 0.0
