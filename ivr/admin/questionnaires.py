"""The questionnaire pages: each survey's versions and the interviews pinned to them, a
readable view of any version, the difference between two, and a new version checked and
published. Administrators and supervisors read them; only administrators publish."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

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
from werkzeug.exceptions import RequestEntityTooLarge

from ivr.accounts import audit
from ivr.accounts.guards import access_required
from ivr.accounts.staff import Role
from ivr.questionnaire import changes, publishing, readable
from ivr.questionnaire.loader import LoadedQuestionnaire, QuestionnaireError, parse_questionnaire
from ivr.questionnaire.schema import Questionnaire
from ivr.services import Services, current_services
from ivr.store import questionnaire_versions as versions_store
from ivr.store.interviews import pin_version

log = logging.getLogger(__name__)

bp = Blueprint(
    "questionnaires", __name__, url_prefix="/admin/questionnaires", template_folder="templates"
)

#: Sign-in required, then 403 unless the account may read questionnaires.
readers_only = access_required(lambda user: user.role in (Role.ADMIN.value, Role.SUPERVISOR.value))
#: Sign-in required, then 403 unless the account may check and publish a new version.
publishers_only = access_required(lambda user: user.role == Role.ADMIN.value)
#: The largest id a row can have (the columns are 32-bit integers on PostgreSQL).
MAX_ID = 2**31 - 1
#: What the form calls the current file, as a version to view or compare.
CURRENT = "current"
#: One publication at a time in this process, so that two never interleave their checks.
_publishing = threading.Lock()


@dataclass(frozen=True)
class Version:
    """A version of a survey's questionnaire as the pages show it."""

    ref: str
    label: str
    source: str
    #: None when this release cannot read an old stored text (it is still shown raw).
    questionnaire: Questionnaire | None


def _me() -> Any:
    return current_user._get_current_object()


def _survey(survey: str) -> LoadedQuestionnaire:
    try:
        return current_services().questionnaires.current(survey)
    except KeyError:
        abort(404)


def _version(survey: str, ref: str) -> Version:
    """The current file (``current``) or a stored version by id; 404 for anything else."""
    if ref == CURRENT:
        loaded = _survey(survey)
        label = f"version {loaded.questionnaire.version} (current file)"
        return Version(CURRENT, label, loaded.source, loaded.questionnaire)
    if not (ref.isascii() and ref.isdigit() and len(ref) <= 10 and 0 < int(ref) <= MAX_ID):
        abort(404)
    _survey(survey)
    with current_services().db.reading() as conn:
        stored = versions_store.stored_version(conn, survey, int(ref))
    if stored is None:
        abort(404)
    try:
        questionnaire: Questionnaire | None = parse_questionnaire(
            stored.source, f"{survey} {stored.version}", checked=False
        ).questionnaire
    except QuestionnaireError:
        questionnaire = None
    label = f"version {stored.version} (stored {stored.first_seen:%Y-%m-%d %H:%M} UTC)"
    return Version(ref, label, stored.source, questionnaire)


def _read_helpers() -> dict[str, Any]:
    return {
        "readable": readable,
        "type_names": readable.TYPE_NAMES,
    }


@bp.get("")
@readers_only
def index() -> Any:
    """Every survey: its title, the current file's version and the versions in use."""
    svc = current_services()
    surveys = []
    with svc.db.reading() as conn:
        for survey in svc.questionnaires.surveys():
            loaded = svc.questionnaires.current(survey)
            surveys.append(
                {
                    "id": survey,
                    "loaded": loaded,
                    "file": svc.questionnaires.path_of(survey).name,
                    "versions": versions_store.versions_in_use(conn, survey),
                }
            )
    return render_template("admin/questionnaires.html", surveys=surveys, may_publish=_may_publish())


def _may_publish() -> bool:
    return bool(current_user.role == Role.ADMIN.value)


@bp.get("/<survey>/versions/<ref>")
@readers_only
def view(survey: str, ref: str) -> Any:
    """A readable view of one version: the checks, the questions, the rules, the calling."""
    version = _version(survey, ref)
    return render_template(
        "admin/questionnaire.html",
        survey=survey,
        version=version,
        q=version.questionnaire,
        **_read_helpers(),
    )


@bp.get("/<survey>/versions/<ref>/download")
@readers_only
def source(survey: str, ref: str) -> Response:
    """A version's exact text, as a file."""
    version = _version(survey, ref)
    name = f"{survey}-{ref}.yaml"
    return Response(
        version.source,
        mimetype="text/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/<survey>/diff")
@readers_only
def diff(survey: str) -> Any:
    """What changed between two versions: the question changes, then the lines."""
    svc = current_services()
    _survey(survey)
    with svc.db.reading() as conn:
        stored = versions_store.versions_in_use(conn, survey)
    older_ref = request.args.get("from", "")
    newer_ref = request.args.get("to", CURRENT)
    if not older_ref:
        # The newest stored version that differs from the file, or the file itself.
        current = svc.questionnaires.current(survey)
        older_ref = next((str(v.id) for v in stored if v.sha256 != current.sha256), CURRENT)
    older, newer = _version(survey, older_ref), _version(survey, newer_ref)
    return render_template(
        "admin/questionnaire_diff.html",
        survey=survey,
        title=svc.questionnaires.current(survey).questionnaire.title,
        stored=stored,
        older=older,
        newer=newer,
        summary=_summary(older.questionnaire, newer.questionnaire),
        lines=changes.line_diff(older.source, newer.source, older.label, newer.label),
    )


def _summary(older: Questionnaire | None, newer: Questionnaire | None) -> list[str] | None:
    if older is None or newer is None:
        return None
    return changes.question_changes(older, newer)


# --- a new version ------------------------------------------------------------------------


@bp.get("/<survey>/new")
@publishers_only
def new(survey: str) -> Any:
    """The form for a new version, holding the current file's text to edit."""
    current = _survey(survey)
    return _new_page(survey, current, text=current.source)


def _new_page(
    survey: str,
    current: LoadedQuestionnaire,
    *,
    text: str,
    checked: LoadedQuestionnaire | None = None,
    refused: str | None = None,
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    file_name = current_services().questionnaires.path_of(survey).name
    errors: list[tuple[str, str]] = []
    if refused:
        errors.append(("questionnaire-text", refused))
    if problems:
        count = len(problems)
        errors.append(
            (
                "problems",
                f"The new version has {count} problem{'s' if count != 1 else ''}: "
                "nothing was published.",
            )
        )
    return render_template(
        "admin/questionnaire_new.html",
        survey=survey,
        file_name=file_name,
        current=current,
        text=text,
        checked=checked,
        q=checked.questionnaire if checked else None,
        errors=errors,
        problems=problems or [],
        summary=_summary(current.questionnaire, checked.questionnaire) if checked else None,
        lines=(
            changes.line_diff(
                current.source,
                checked.source,
                f"version {current.questionnaire.version} (current file)",
                f"version {checked.questionnaire.version} (new)",
            )
            if checked
            else []
        ),
        max_kb=publishing.MAX_BYTES // 1024,
        based_on=_file_digest(current_services(), survey),
        **_read_helpers(),
    ), status


def _file_digest(svc: Services, survey: str) -> str:
    """The digest of the survey's file as it is on disk now (it may hold an edit the
    registry refused: publishing replaces that too, but only as it was when checked)."""
    return hashlib.sha256(svc.questionnaires.path_of(survey).read_bytes()).hexdigest()


def _problems(error: QuestionnaireError, text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    return [
        {
            "said": str(problem),
            "line": problem.line,
            "quoted": lines[problem.line - 1] if 0 < problem.line <= len(lines) else None,
        }
        for problem in error.problems
    ]


def _submitted_text() -> str:
    """The new version from the form: a chosen file, else the pasted text. (A form larger
    than the framework's limit on form fields is refused as too large before it is read.)"""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        body = upload.stream.read(publishing.MAX_BYTES + 1)
    else:
        body = request.form.get("text", "").encode("utf-8")
    return publishing.text_of(body)


def _check(
    svc: Services, survey: str, text: str, current: LoadedQuestionnaire
) -> LoadedQuestionnaire:
    """The new version loaded and allowed to replace the current one, or the reason not."""
    path = svc.questionnaires.path_of(survey)
    loaded = publishing.check_version(text, path.name, path.parent)
    uploaded_id = loaded.questionnaire.id
    if uploaded_id != survey and uploaded_id not in svc.questionnaires.surveys():
        # A survey is added where its sample, campaign and staff are set up, not here.
        raise publishing.UploadRefused(
            f"There is no survey '{uploaded_id}': a new survey is added by putting its file "
            "in the questionnaires folder and restarting the service. Here, the id must stay "
            f"'{survey}'."
        )
    publishing.may_replace(loaded, current)
    with svc.db.reading() as conn:
        used = versions_store.version_texts(conn, survey, loaded.questionnaire.version)
    if any(sha256 != loaded.sha256 for sha256 in used):
        raise publishing.UploadRefused(
            f"Version '{loaded.questionnaire.version}' was used before with different text, "
            "and interviews may have pinned it: give this one a new version."
        )
    return loaded


@bp.post("/<survey>/check")
@publishers_only
def check(survey: str) -> Any:
    """Check a new version (uploaded or pasted): its problems with their lines, or what it
    changes and the button that publishes it. Nothing is changed here."""
    svc = current_services()
    current = _survey(survey)
    text = ""
    try:
        text = _submitted_text()
        loaded = _check(svc, survey, text, current)
    except RequestEntityTooLarge:
        refused = (
            "The new version is too large: the largest accepted is "
            f"{publishing.MAX_BYTES // 1024} KB."
        )
        return _new_page(survey, current, text=current.source, refused=refused, status=413)
    except publishing.UploadRefused as error:
        return _new_page(
            survey, current, text=text or current.source, refused=str(error), status=400
        )
    except QuestionnaireError as error:
        return _new_page(survey, current, text=text, problems=_problems(error, text), status=400)
    return _new_page(survey, current, text=text, checked=loaded)


@bp.post("/<survey>/publish")
@publishers_only
def publish(survey: str) -> Any:
    """Publish a checked version: checked again here, written in one step, kept with the
    version it replaces, audited; interviews under way keep the version they pinned."""
    svc = current_services()
    with _publishing:
        current = _survey(survey)
        path = svc.questionnaires.path_of(survey)
        text = ""
        try:
            text = _submitted_text()
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != request.form.get("sha256"):
                raise publishing.UploadRefused(
                    "The text to publish is not the text that was checked: check it again."
                )
            if _file_digest(svc, survey) != request.form.get("based_on"):
                raise publishing.UploadRefused(
                    "The questionnaire changed after this version was checked: check it again "
                    "against the file as it is now."
                )
            loaded = _check(svc, survey, text, current)
        except RequestEntityTooLarge:
            abort(413)
        except publishing.UploadRefused as error:
            return _new_page(
                survey, current, text=text or current.source, refused=str(error), status=409
            )
        except QuestionnaireError as error:
            return _new_page(
                survey, current, text=text, problems=_problems(error, text), status=400
            )
        with svc.db.transaction() as session:
            # The text it replaces is kept, so that a diff back to it is always possible.
            previous_id = pin_version(session, current)
            new_id = pin_version(session, loaded)
            audit.record(
                session,
                _me(),
                "publish_questionnaire",
                object_type="questionnaire_version",
                object_id=new_id,
                now=svc.clock(),
                survey=survey,
                old_version=current.questionnaire.version,
                old_sha256=current.sha256,
                new_version=loaded.questionnaire.version,
                sha256=loaded.sha256,
            )
            # Last in the transaction: a file that cannot be written leaves no entry.
            publishing.write_atomically(path, text)
        served = svc.questionnaires.current(survey)
    if served.sha256 != loaded.sha256:
        log.error(
            "questionnaire %s was published but the registry still serves %s", survey, served.sha256
        )
        flash(
            "The file was written, but the service still uses the previous version: see the log.",
            "error",
        )
    else:
        flash(
            f"Version {loaded.questionnaire.version} is published: new interviews use it, and "
            "interviews under way keep the version they started with.",
            "success",
        )
    # "from" is a Python keyword, so the arguments go in as a mapping.
    compared: dict[str, Any] = {"from": previous_id, "to": CURRENT}
    return redirect(url_for("questionnaires.diff", survey=survey, **compared))


def init_app(app: Flask) -> None:
    """Register the questionnaire pages on ``app``."""
    app.register_blueprint(bp)
