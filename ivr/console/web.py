"""The interviewer's console: take the next case, read the script, record the answers.

Interviewers, supervisors and administrators run interviews by telephone from here; the
domain (:mod:`ivr.console`) decides what is asked and keeps each case held by one person.
Every form works without JavaScript; ``assisted.js`` only adds key presses for the answers.

Calls are placed by ringing the interviewer's own phone first: when they answer, Twilio
asks ``/twilio/bridge`` what to do and is told to dial the victim from the survey number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from twilio.twiml.voice_response import Dial, VoiceResponse
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit
from ivr.accounts.guards import access_required, csrf
from ivr.accounts.staff import Role
from ivr.campaigns.quota_progress import cell_name, quota_progress
from ivr.campaigns.scheduler import CampaignError, campaign_for, local_today
from ivr.config import ConfigError
from ivr.console import assisted, handovers
from ivr.console.assisted import (
    CONSOLE_ROLES,
    SUPERVISION_ROLES,
    ConsoleError,
    NotDealt,
    OnAutomatedCall,
    Screen,
)
from ivr.services import current_services
from ivr.store import interviewers
from ivr.telephony.port import CallRequest, TelephonyError
from ivr.web.signed import TWIML, signed
from ivr.wording import local_time, sentence

log = logging.getLogger(__name__)
bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
#: Twilio's webhook for a console call: the interviewer answered, now ring the victim.
bridge_bp = Blueprint("twilio_bridge", __name__, url_prefix="/twilio")

CALLBACK_CHOICES = {
    "this_evening": "This evening",
    "tomorrow_daytime": "Tomorrow daytime",
    "tomorrow_evening": "Tomorrow evening",
}
END_OUTCOMES = {
    "completed": "Completed",
    "refused": "Refused",
    "no_answer": "No answer",
    "busy": "Busy",
    "no_screener": "Answered, but could not confirm who it was",
    "wrong_number": "Wrong number: nobody of that name",
    "unsafe": "Not safe to talk now",
    "partial": "Stopped part way (partial)",
}
#: The end-of-call outcome that matches how an interview ended, for finishing the call.
FINISHING_OUTCOMES = {
    "completed": "completed",
    "refused": "refused",
    "wrong_number": "wrong_number",
    "unsafe": "unsafe",
    "no_response": "no_screener",
    "partial": "partial",
}
#: The longest action-alert reason or verbatim answer accepted from the page.
MAX_TEXT = 2000
#: Said to the interviewer when the bridge has no victim to ring.
NO_CALL_MESSAGE = "There is no call to connect for this interview. Goodbye."
#: The largest id a row can have (the columns are 32-bit integers on PostgreSQL).
MAX_ID = 2**31 - 1
#: Said when the console will not open a case its victim is on an automated call about.
ON_AUTOMATED_CALL = (
    "Not opened: the victim is on an automated call about this case now. Nothing was "
    "changed; try again when the call has ended."
)


def _has_role(roles: frozenset[Role]) -> bool:
    return current_user.role in roles


#: Sign-in required, then 403 unless the account interviews, supervises or administers.
console_access_required = access_required(lambda user: _has_role(CONSOLE_ROLES))
#: Sign-in required, then 403 unless the account supervises or administers.
supervision_access_required = access_required(lambda user: _has_role(SUPERVISION_ROLES))


def _me() -> Any:
    # The account as a plain object, read before the domain opens any transaction.
    return current_user._get_current_object()


def _check_id(object_type: str, object_id: int) -> None:
    """An id no row can have is refused before any query (SQLite cannot even bind it)."""
    if not 0 < object_id <= MAX_ID:
        _refuse(object_type, object_id)


def _refuse(object_type: str, object_id: int) -> NoReturn:
    """Not found, and written to the audit trail: who asked, by which route, for which id."""
    svc = current_services()
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    in_range = 0 < object_id <= MAX_ID
    with svc.db.transaction() as session:
        audit.record(
            session,
            _me(),
            "console_refused",
            object_type=object_type,
            object_id=object_id if in_range else None,
            now=svc.clock(),
            route=rule,
            method=request.method,
            **({} if in_range else {"id": str(object_id)[:40]}),
        )
    abort(404)


def _audit_view(case_id: int, shown: list[str], **details: Any) -> None:
    """Write down that the signed-in user was shown a victim's ``shown`` details (the
    names of the fields, never their values)."""
    svc = current_services()
    with svc.db.transaction() as session:
        audit.record(
            session,
            _me(),
            "view_personal_details",
            object_type="case",
            object_id=case_id,
            now=svc.clock(),
            shown=shown,
            route=request.url_rule.rule if request.url_rule is not None else request.path,
            **details,
        )


def _yes_no(screen: Screen) -> bool:
    """Whether y and n stand for keys 1 and 2: on control steps and yes/no questions."""
    if screen.kind == "control":
        return True
    labels = {key: label.strip().lower() for key, label in screen.options}
    return labels.get("1", "").startswith("yes") and labels.get("2", "").startswith("no")


def _shortcuts(screen: Screen) -> dict[str, str]:
    """Each option's keyboard shortcuts, as aria-keyshortcuts and assisted.js read them."""
    letters = {"1": "y", "2": "n"} if _yes_no(screen) else {}
    return {
        key: " ".join(filter(None, (key, letters.get(key))))
        for key, _ in (*screen.options, *screen.not_counted)
    }


def _script_page(
    interview_id: int,
    *,
    shown: Screen | None = None,
    form: Mapping[str, str] | None = None,
    error_for: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    svc = current_services()
    _check_id("interview", interview_id)
    if shown is None:
        try:
            shown = assisted.screen(svc.db, svc.questionnaires, _me(), interview_id)
        except NotDealt:
            _refuse("interview", interview_id)
        except (ConsoleError, LookupError):
            abort(404)
    _audit_view(
        shown.case_id,
        ["first_name", "phone"] if shown.first_name else ["phone"],
        interview_id=interview_id,
    )
    finishing = None
    if shown.kind == "ended" and any(
        held["case_id"] == shown.case_id for held in assisted.held_cases(svc.db, _me())
    ):
        # Ended by its answers, the case is still held: ending the call counts the
        # attempt and gives the case back.
        finishing = FINISHING_OUTCOMES.get(shown.status)
    with svc.db.reading() as conn:
        # Only then does "Call" ring the interviewer's own phone first.
        has_own_phone = interviewers.interviewer_phone(conn, _me().id) is not None
    return render_template(
        "console_interview.html",
        screen=shown,
        has_own_phone=has_own_phone,
        shortcuts=_shortcuts(shown),
        finishing=finishing,
        callback_choices=CALLBACK_CHOICES,
        end_outcomes=END_OUTCOMES,
        public_concerns=assisted.PUBLIC_CONCERNS,
        max_text=MAX_TEXT,
        form=form or {},
        error_for=error_for,
        error=error,
    ), status


def _act(interview_id: int, form_name: str, do: Callable[[], str | None]) -> Any:
    """Run one domain action; ConsoleError re-renders the page with the error and the
    input kept (400), and success goes back to the page (with ``do``'s message)."""
    _check_id("interview", interview_id)
    try:
        message = do()
    except NotDealt:
        _refuse("interview", interview_id)
    except ConsoleError as error:
        return _script_page(
            interview_id,
            form=request.form,
            error_for=form_name,
            error=sentence(str(error)),
            status=400,
        )
    except LookupError:
        abort(404)
    if message:
        flash(message, "success")
    return redirect(url_for("console.interview", interview_id=interview_id))


@bp.get("")
@console_access_required
def index() -> Any:
    """The case this account holds, if any, and the button for the next due case."""
    with_held = assisted.held_cases(current_services().db, _me())
    for case in with_held:
        if case["first_name"]:
            _audit_view(case["case_id"], ["first_name"])
    return render_template(
        "console.html",
        held=with_held,
        handed_over=handovers.waiting(current_services().db),
        may_supervise=_has_role(SUPERVISION_ROLES),
    )


@bp.post("/handovers/<int:case_id>/take")
@console_access_required
def take_caller(case_id: int) -> BaseResponse:
    """Take a caller being put through to the team: the case is held for this account and
    its interview opens where it stands."""
    svc = current_services()
    _check_id("case", case_id)
    now = svc.clock()
    try:
        interview_id = handovers.take(svc.db, _me(), case_id, now)
    except ConsoleError as error:
        flash(f"Not taken: {error}.", "error")
        return redirect(url_for("console.index"))
    with svc.db.transaction() as session:
        audit.record(
            session,
            _me(),
            "take_handed_over_caller",
            object_type="case",
            object_id=case_id,
            now=now,
            interview_id=interview_id,
        )
    return redirect(url_for("console.interview", interview_id=interview_id))


@bp.post("/next")
@console_access_required
def next_case() -> BaseResponse:
    """Hold the next due case for this account and open its interview."""
    svc, user = current_services(), _me()
    now = svc.clock()
    try:
        case_id = assisted.next_case(svc.db, svc.questionnaires, user, now)
        if case_id is None:
            flash(_why_nothing_due(now), "info")
            return redirect(url_for("console.index"))
        opened = assisted.open_interview(svc.db, svc.questionnaires, user, case_id, now)
    except OnAutomatedCall:
        flash(ON_AUTOMATED_CALL, "error")
        return redirect(url_for("console.index"))
    except ConsoleError as error:
        flash(f"No case is due now: {error}.", "info")
        return redirect(url_for("console.index"))
    return redirect(url_for("console.interview", interview_id=opened.interview_id))


def _why_nothing_due(now: datetime) -> str:
    """Nothing due: say which surveys' calling is paused, and when calling opens next if
    every campaign is outside its hours."""
    svc = current_services()
    paused = assisted.paused_titles(svc.db, svc.questionnaires)
    if paused:
        return (
            f"No case is due now. Calling for {' and '.join(paused)} is paused: no case "
            "of it is given out until calling is resumed."
        )
    registry = svc.questionnaires
    opens = []
    for survey in registry.surveys():
        try:
            policy = campaign_for(registry, survey).policy
        except CampaignError:
            continue
        if policy.may_start(now):
            return "No case is due now. Try again in a few minutes."
        opens.append(policy.windows.next_open(now))
    if not opens:
        return "No survey has outbound calling set up, so no case is due."
    return (
        "It is outside the calling hours, so no case is given out now. Calling opens "
        f"again {local_time(min(opens))}."
    )


@bp.post("/cases/<int:case_id>/open")
@console_access_required
def open_case(case_id: int) -> BaseResponse:
    """Go back to the interview of a case dealt to this account (resuming a partial one);
    any other case is not found, and the attempt audited."""
    svc = current_services()
    _check_id("case", case_id)
    try:
        opened = assisted.open_interview(svc.db, svc.questionnaires, _me(), case_id, svc.clock())
    except NotDealt:
        _refuse("case", case_id)
    except OnAutomatedCall:
        flash(ON_AUTOMATED_CALL, "error")
        return redirect(url_for("console.index"))
    except ConsoleError as error:
        flash(f"Not opened: {error}.", "error")
        return redirect(url_for("console.index"))
    return redirect(url_for("console.interview", interview_id=opened.interview_id))


@bp.post("/cases/<int:case_id>/release")
@console_access_required
def release_case(case_id: int) -> BaseResponse:
    """Give a held case back, so that it is due for someone else."""
    svc = current_services()
    _check_id("case", case_id)
    try:
        assisted.release(svc.db, _me(), case_id, svc.clock())
    except NotDealt:
        _refuse("case", case_id)
    except ConsoleError as error:
        flash(f"Not released: {error}.", "error")
    else:
        flash("The case is released.", "success")
    return redirect(url_for("console.index"))


@bp.get("/interviews/<int:interview_id>")
@console_access_required
def interview(interview_id: int) -> Any:
    """The script: what to say, the answers to key, the case and the forms for the call."""
    return _script_page(interview_id)


@bp.post("/interviews/<int:interview_id>/answer")
@console_access_required
def answer(interview_id: int) -> Any:
    """Record the key pressed (or the victim's words) and go on to the next step."""
    svc = current_services()
    # A finer answer (an ONS 2021 ethnic group) comes with its option's key in the query.
    detail = request.form.get("detail") or None
    key = request.form.get("key") or (request.args.get("key") if detail else None) or None
    text = detail if key else request.form.get("text", "")
    if text is not None and len(text) > MAX_TEXT:
        return _script_page(
            interview_id,
            form=request.form,
            error_for="answer",
            error=f"Keep the words under {MAX_TEXT:,} characters",
            status=400,
        )

    def record() -> None:
        assisted.answer(
            svc.db,
            svc.questionnaires,
            _me(),
            interview_id,
            key=key,
            text=text,
            now=svc.clock(),
            queue=svc.queue,
            due_days=svc.settings.referral_due_working_days,
        )

    return _act(interview_id, "answer", record)


@bp.post("/interviews/<int:interview_id>/repeat")
@console_access_required
def repeat(interview_id: int) -> Any:
    """Show the question again, to read it out once more as written."""
    svc = current_services()

    def again() -> str:
        assisted.repeat_question(svc.db, svc.questionnaires, _me(), interview_id, svc.clock())
        return "Read the question again, exactly as written."

    return _act(interview_id, "repeat", again)


@bp.post("/interviews/<int:interview_id>/alert")
@console_access_required
def alert(interview_id: int) -> Any:
    """Raise an action alert: the victim wants the police to contact them."""
    svc = current_services()
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _script_page(
            interview_id,
            form=request.form,
            error_for="alert",
            error="Say why the victim wants police contact",
            status=400,
        )
    if len(reason) > MAX_TEXT:
        return _script_page(
            interview_id,
            form=request.form,
            error_for="alert",
            error=f"Keep the reason under {MAX_TEXT:,} characters",
            status=400,
        )

    def raise_alert() -> str:
        referral_id = assisted.action_alert(
            svc.db,
            svc.questionnaires,
            _me(),
            interview_id,
            reason,
            svc.clock(),
            queue=svc.queue,
            due_days=svc.settings.referral_due_working_days,
            concern=request.form.get("concern") or None,
            name=request.form.get("name") or None,
            number=request.form.get("number") or None,
        )
        return (
            f"Action alert #{referral_id} is raised: the district will contact the "
            "victim. Carry on with the interview."
        )

    return _act(interview_id, "alert", raise_alert)


@bp.post("/interviews/<int:interview_id>/note")
@console_access_required
def note(interview_id: int) -> Any:
    """Keep a verbatim note on the interview."""
    svc = current_services()
    text = request.form.get("note", "")

    def keep() -> str:
        assisted.add_note(svc.db, svc.questionnaires, _me(), interview_id, text, svc.clock())
        return "Note kept."

    return _act(interview_id, "note", keep)


@bp.post("/interviews/<int:interview_id>/callback")
@console_access_required
def callback(interview_id: int) -> Any:
    """Book a call-back at the time the victim chose, and end this call."""
    svc = current_services()
    choice = request.form.get("choice", "")

    def book() -> str:
        when = assisted.book_callback(
            svc.db, svc.questionnaires, _me(), interview_id, choice, svc.clock()
        )
        return f"Call-back booked for {local_time(when)}."

    return _act(interview_id, "callback", book)


@bp.post("/interviews/<int:interview_id>/end")
@console_access_required
def end(interview_id: int) -> Any:
    """End the call with the outcome chosen."""
    svc = current_services()
    outcome = request.form.get("outcome", "")
    if not outcome:
        # Checked here as well as by the page: no outcome is ever assumed.
        return _script_page(
            interview_id,
            form=request.form,
            error_for="end",
            error="Choose how the call ended",
            status=400,
        )

    def end_call() -> str:
        assisted.end_call(
            svc.db,
            svc.questionnaires,
            _me(),
            interview_id,
            outcome,
            svc.clock(),
            queue=svc.queue,
            due_days=svc.settings.referral_due_working_days,
        )
        return f"Call ended: {END_OUTCOMES.get(outcome, outcome).lower()}."

    return _act(interview_id, "end", end_call)


@bp.post("/interviews/<int:interview_id>/call")
@console_access_required
def call(interview_id: int) -> Any:
    """Ring the interviewer's own phone, then bridge them to the victim; or say to dial."""
    svc, user = current_services(), _me()
    _check_id("interview", interview_id)
    try:
        assisted.check_may_call(svc.db, user, interview_id, svc.clock())
    except NotDealt:
        _refuse("interview", interview_id)
    except ConsoleError as error:
        return _script_page(interview_id, error_for="call", error=sentence(str(error)), status=400)
    shown = assisted.screen(svc.db, svc.questionnaires, user, interview_id)
    # Flashed messages live in the session cookie: they name neither victim nor number.
    manual = "Dial the number shown on this page by hand."
    with svc.db.reading() as conn:
        own_phone = interviewers.interviewer_phone(conn, user.id)
        public_id = interviewers.interview_public_id(conn, interview_id)
    if not own_phone:
        flash(f"Your account has no phone number to ring. {manual}", "info")
        return redirect(url_for("console.interview", interview_id=interview_id))
    try:
        telephony, limiter = svc.dialer()
    except ConfigError:
        flash(f"Calls cannot be placed from here. {manual}", "info")
        return redirect(url_for("console.interview", interview_id=interview_id))
    base = svc.settings.public_base_url
    try:
        limiter.acquire()
        placed = telephony.place_call(
            CallRequest(
                to=own_phone,
                from_=svc.settings.twilio_from_number,
                url=f"{base}{bridge_bp.url_prefix}/bridge?interview={public_id}",
                status_callback=f"{base}{bridge_bp.url_prefix}/status",
                machine_detection=None,
            )
        )
    except (TelephonyError, ValueError) as error:
        # Not the error's text: a provider's message may quote a phone number.
        log.warning(
            "console call for interview %s not placed: %s (HTTP %s, code %s)",
            interview_id,
            type(error).__name__,
            getattr(error, "status", None),
            getattr(error, "code", None),
        )
        return _script_page(
            interview_id,
            shown=shown,
            error_for="call",
            error=f"The call could not be placed. {manual}",
            status=502 if isinstance(error, TelephonyError) else 400,
        )
    log.info("console call %s placed for interview %s", placed.sid, interview_id)
    flash(
        "Your phone is ringing. Answer it, and you will be connected to the victim.",
        "success",
    )
    return redirect(url_for("console.interview", interview_id=interview_id))


def _supervision_page(
    *, form: Mapping[str, str] | None = None, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    svc = current_services()
    return render_template(
        "console_supervision.html",
        interviewers=assisted.supervision(svc.db, svc.clock()),
        surveys=svc.questionnaires.surveys(),
        form=form or {},
        error=error,
    ), status


@bp.get("/supervision")
@supervision_access_required
def supervision() -> Any:
    """Each interviewer's state, completes in the last hour and today, and cases held."""
    return _supervision_page()


@bp.post("/supervision/give")
@supervision_access_required
def give_case() -> Any:
    """Give a case, by its reference, to an interviewer to open from their console."""
    svc, user = current_services(), _me()
    form = request.form
    chosen = form.get("interviewer", "")
    try:
        if not chosen.isascii() or not chosen.isdigit() or not 0 < int(chosen) <= MAX_ID:
            raise ConsoleError("choose an interviewer")
        case_id = assisted.give_case(
            svc.db,
            svc.questionnaires,
            user,
            form.get("survey", ""),
            form.get("case_ref", ""),
            int(chosen),
            svc.clock(),
        )
    except ConsoleError as error:
        return _supervision_page(form=form, error=sentence(str(error)), status=400)
    with svc.db.transaction() as session:
        audit.record(
            session,
            user,
            "give_case",
            object_type="case",
            object_id=case_id,
            now=svc.clock(),
            to=int(chosen),
        )
    flash("The case is given: it is on the interviewer's console to open.", "success")
    return redirect(url_for("console.supervision"))


@bp.get("/quotas")
@supervision_access_required
def quotas() -> Any:
    """Each survey of the public's progress against its quotas, and its release plan."""
    svc = current_services()
    registry, now = svc.questionnaires, svc.clock()
    surveys = []
    with svc.db.reading() as conn:
        for survey in registry.surveys():
            try:
                campaign = campaign_for(registry, survey)
            except CampaignError:
                continue
            if campaign.population is not None:
                today = local_today(campaign, now)
                surveys.append(
                    quota_progress(conn, campaign.questionnaire, campaign.population, today)
                )
    return render_template("console_quotas.html", surveys=surveys, cell_name=cell_name)


@bridge_bp.post("/bridge")
@signed
def bridge() -> Response:
    """The interviewer answered their phone: dial the victim from the survey number."""
    svc = current_services()
    response = VoiceResponse()
    public_id = request.args.get("interview", "")
    with svc.db.reading() as conn:
        victim = interviewers.victim_phone_to_bridge(conn, public_id)
    if victim is None:
        log.warning("bridge asked for interview %r, which has no call to connect", public_id)
        response.say(NO_CALL_MESSAGE)
        response.hangup()
    else:
        dial = Dial(caller_id=svc.settings.twilio_from_number)
        dial.number(victim)
        response.append(dial)
    return Response(str(response), content_type=TWIML)


def init_app(app: Flask) -> None:
    """Add the console pages and the bridge webhook (signed, not CSRF-checked) to ``app``."""

    csrf.exempt(bridge_bp)
    app.register_blueprint(bp)
    app.register_blueprint(bridge_bp)
