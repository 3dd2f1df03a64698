"""Applications: submitted online by a resident or at the counter by a caseworker, one queue.

Each handler reads like the procedure it serves: parse → authorise → act in one transaction
(the application, its first link in the town's hash chain, its event in the outbox) → reply.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import msgspec
from joserfc import jws
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import applications as msg
from contracts import headers as h
from contracts import subjects
from contracts.applications import DECLINED, Channel, Status
from contracts.audit import AuditRecord
from contracts.errors import ErrorCode, FieldError, failure
from contracts.payments import PaymentChoice, PaymentState
from contracts.principal import Principal
from contracts.procedures import PREFILL, Prefill, PrefilledForm, ProcedureDetail
from contracts.receipts import ReceiptClaims
from contracts.tenants import Region
from contracts.uploads import Upload
from services.procedures import counter_codes, documents, fees, idempotency, workflow
from services.procedures.answers import ValidAnswers, validate_answers
from services.procedures.payments import Payments, payment_of, payment_row, shown
from services.procedures.catalog import CatalogReader
from services.procedures.chain import Sealer
from services.procedures.filing import Filer, Filing, Numbering, Rows
from services.procedures.models import Application, AttachmentRow, OutboxRow, StatusChangeRow
from services.procedures.prefill import (
    IDENTITY_SOURCES,
    prefill,
    prefilled_values,
    require_assurance,
)
from services.procedures.receipts import Signer, digest
from services.procedures.references import is_reference, normalise_reference
from services.procedures.uploads import read_uploads, upload_ids
from services.runtime.database import idle, utc
from services.runtime.files import FileBucket
from services.runtime.outbox import OutboxRelay, new_event
from services.runtime.service import Context, ServiceApp
from services.runtime.settings import PaymentSettings

TOKYO = ZoneInfo("Asia/Tokyo")
#: How many of a resident's latest applications ``history`` fields are taken from.
HISTORY_DEPTH = 20
_DETAIL = msgspec.json.Decoder(ProcedureDetail)
_ENCODER = msgspec.json.Encoder()
_CLAIMS = msgspec.json.Decoder(ReceiptClaims)


def due_on(submitted_at: datetime, processing_days: int) -> date | None:
    """The standard processing days, counted in working days (Mon–Fri) from the Tokyo date."""
    if processing_days <= 0:
        return None
    day, left = submitted_at.astimezone(TOKYO).date(), processing_days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def role_of(principal: Principal, tenant: str) -> str:
    if principal.is_staff_of(tenant):
        return workflow.STAFF
    if principal.has_role("resident"):
        return workflow.RESIDENT
    raise failure(ErrorCode.FORBIDDEN, "Not allowed", "only residents and this town's staff handle applications")


def summary(app: Application, procedure: ProcedureDetail | None) -> msg.ApplicationSummary:
    return msg.ApplicationSummary(
        id=app.id,
        tenant=app.tenant,
        code=app.code,
        procedure_name_ja=procedure.name_ja if procedure else app.code,
        procedure_name_en=procedure.name_en if procedure else app.code,
        status=app.status,
        channel=app.channel,
        applicant_name=app.applicant_name,
        submitted_at=utc(app.submitted_at),
        due_on=app.due_on,
        assigned_to=app.assigned_to,
        reference=app.reference,
        fee_yen=app.fee_yen or 0,
        payment_state=app.payment_state,
        location=(
            msg.Location(lat=app.lat, long=app.long, address_string=app.address_string)
            if app.lat is not None or app.address_string
            else None
        ),
    )


class Applicant(msgspec.Struct, frozen=True, kw_only=True):
    """Who an application is filed for: online as their sign-in says, at the counter as the
    caseworker confirmed them."""

    #: Their account: online always, at the counter when a link code named it.
    subject: str | None
    name: str
    address: str | None
    #: ISO 8601 (``1980-04-01``), as the sign-in carries it.
    birthdate: str | None


class _Validated(NamedTuple):
    procedure: ProcedureDetail
    valid: ValidAnswers
    channel: Channel
    applicant: Applicant
    fee: msg.Fee


class Applications:
    def __init__(
        self, catalog: CatalogReader, signer: Signer, region: Region, *, sessions: async_sessionmaker[AsyncSession],
        relay: OutboxRelay, sealer: Sealer, files: FileBucket, payment: PaymentSettings,
    ) -> None:
        """``relay`` and ``sealer``: publish and seal a town's committed events; ``sessions``: the
        filer's (it writes batches of filings of its own)."""
        self.catalog = catalog
        self.signer = signer
        self.region = region
        self.prefixes = {town.slug: town.reference_prefix for town in region.towns}
        self.relay = relay
        self.sealer = sealer
        self.keys = idempotency.Keys()
        self.filer = Filer(sessions, self.committed)
        self.payments = Payments(self, payment)
        self.files = files

    def committed(self, town: str) -> None:
        """A town's changes with events and links committed: publish and seal them soon."""
        self.relay.notify(town)
        self.sealer.notify(town)

    def receipt_claims(self, app: Application, procedure: ProcedureDetail, valid: ValidAnswers) -> ReceiptClaims:
        town = self.region.town(app.tenant)
        return ReceiptClaims(
            kind="receipt",
            iss=f"urn:jp:lg:{town.code}" if town else app.tenant,
            tenant=app.tenant,
            town_name_ja=town.name_ja if town else app.tenant,
            sub=app.id,
            code=app.code,
            procedure_name_ja=procedure.name_ja,
            applicant_name=app.applicant_name,
            status=app.status,
            iat=int(utc(app.submitted_at).timestamp()),
            jti=str(uuid.uuid4()),
            answers_sha256=digest(valid.values),
            attachments_sha256=[a.sha256 for a in valid.attachments],
        )

    async def procedure(self, ctx: Context, code: str) -> ProcedureDetail:
        raw = await self.catalog.detail(ctx, code)
        if raw is None:
            raise failure(ErrorCode.NOT_FOUND, "Unknown procedure", f"{ctx.tenant} offers no procedure {code!r}")
        return _DETAIL.decode(raw)

    async def history(self, ctx: Context) -> dict[str, Any]:
        """The resident's earlier answers in this town, newest winning: the source of ``history`` fields."""
        rows = (
            await ctx.session.execute(
                select(Application.answers_json)
                .where(Application.tenant == ctx.tenant, Application.applicant_subject == ctx.principal.subject)
                .order_by(Application.submitted_at.desc())
                .limit(HISTORY_DEPTH)
            )
        ).scalars().all()
        merged: dict[str, Any] = {}
        for answers in reversed(rows):
            merged.update(msgspec.json.decode(answers))
        return merged

    async def prefill(self, ctx: Context, req: Prefill) -> PrefilledForm:
        raw = await self.catalog.detail(ctx, req.code)
        if raw is None:
            raise failure(ErrorCode.NOT_FOUND, "Unknown procedure", f"{ctx.tenant} offers no procedure {req.code!r}")
        wants_history = ctx.principal.has_role("resident") and b'"prefill":"history"' in raw
        return prefill(ctx.principal, raw, await self.history(ctx) if wants_history else {})

    async def _answers_for(self, ctx: Context, req: msg.SubmitApplication, procedure: ProcedureDetail) -> tuple[dict[str, Any], Channel, Applicant]:
        """The answers to validate, the channel, and who the applicant is.

        Online, the identity fields come from the verified token and cannot be overridden by the
        body (once only, and no one files under another's name); at the counter they come from
        what the caseworker confirmed at the desk.
        """
        principal = ctx.principal
        if req.counter_applicant is not None:
            if not principal.is_staff_of(ctx.tenant):
                raise failure(ErrorCode.FORBIDDEN, "Counter filing is for staff", "only this town's staff file at the counter")
            who = req.counter_applicant
            if who.birthdate > datetime.now(TOKYO).date():
                raise failure(ErrorCode.VALIDATION, "Birthdate in the future", "a birthdate cannot be after today", [
                    FieldError(field="$.counter_applicant.birthdate", message_ja="生年月日に今日より後の日付は入力できません。",
                               message_en="The date of birth cannot be after today."),
                ])
            subject = await counter_codes.resolve(ctx.session, ctx.tenant, who.link_code) if who.link_code else None
            applicant = Applicant(subject=subject, name=who.name, address=who.address, birthdate=who.birthdate.isoformat())
            confirmed = {"name": applicant.name, "address": applicant.address, "birthdate": applicant.birthdate}
            known = {f.name: confirmed[f.prefill] for f in procedure.fields if f.prefill in confirmed}
            return {**req.answers, **known}, Channel.COUNTER, applicant
        if not principal.has_role("resident"):
            raise failure(ErrorCode.FORBIDDEN, "Residents only", "staff file for a resident with counter_applicant")
        require_assurance(principal, procedure.assurance)
        identity = principal.identity
        # Only what the sign-in actually carries is fixed; a field it lacks (a password-level
        # sign-in has no address) is the resident's to type.
        carried = {source for source in IDENTITY_SOURCES if identity is not None and getattr(identity, source, None)}
        overridden = sorted(f.name for f in procedure.fields if f.prefill in carried and f.name in req.answers)
        if overridden:
            raise failure(
                ErrorCode.VALIDATION,
                "Verified fields cannot be typed",
                f"these fields come from your verified identity: {', '.join(overridden)}",
            )
        wants_history = any(f.prefill == "history" for f in procedure.fields)
        values = prefilled_values(principal, procedure, await self.history(ctx) if wants_history else None)
        applicant = Applicant(
            subject=principal.subject,
            name=identity.name if identity and identity.name else principal.subject,
            address=identity.address if identity else None,
            birthdate=identity.birthdate if identity else None,
        )
        # Typed answers win over earlier ones; verified identity fields cannot be typed (checked above).
        return {**values, **req.answers}, Channel.ONLINE, applicant

    async def _validated(self, ctx: Context, req: msg.SubmitApplication) -> _Validated:
        """Everything filing ``req`` would file, checked: the answers, the channel, the applicant, the fee."""
        procedure = await self.procedure(ctx, req.code)
        if req.location is not None and not procedure.located:
            raise failure(ErrorCode.VALIDATION, "No location for this procedure", f"{procedure.code} takes no location", [
                FieldError(field="$.location", message_ja="この手続きには場所を指定できません。",
                           message_en="This procedure takes no location."),
            ])
        answers, channel, applicant = await self._answers_for(ctx, req, procedure)
        uploaded = await read_uploads(self.files, ctx.tenant, ctx.principal.subject, procedure.fields, answers)
        valid = validate_answers(procedure.fields, answers, uploaded)
        return _Validated(procedure, valid, channel, applicant, fees.fee(procedure, valid.values))

    async def check(self, ctx: Context, req: msg.SubmitApplication) -> msg.CheckedApplication:
        """Check your answers: what ``submit`` would file and charge, with nothing stored."""
        checked = await self._validated(ctx, req)
        return msg.CheckedApplication(
            code=checked.procedure.code, answers=checked.valid.values, fee=checked.fee,
            online_payment=self.payments.provider.online,
            attachments=[msg.AttachmentInfo(field=a.field, filename=a.filename, media_type=a.media_type, size=a.size,
                                            sha256=a.sha256) for a in checked.valid.attachments])

    async def submit(self, ctx: Context, req: msg.SubmitApplication) -> bytes:
        key = ctx.headers.get(h.IDEMPOTENCY_KEY)
        if not key:
            raise failure(ErrorCode.BAD_REQUEST, "Idempotency-Key required", "send an Idempotency-Key header")
        checked = await self._validated(ctx, req)
        procedure, valid, channel, applicant = checked.procedure, checked.valid, checked.channel, checked.applicant
        self._payable(checked, req)
        session = ctx.session
        # A file posted twice (a double tap on a form with an attachment) makes two uploads of the
        # same content: the request is the same when the files are.
        same_files = {name: {"sha256": valid.values[name]} for name in upload_ids(procedure.fields, req.answers)}
        digest = idempotency.request_hash(_ENCODER.encode(msgspec.structs.replace(req, answers={**req.answers, **same_files})))
        subject = ctx.principal.subject
        async with self.keys.claim(ctx.tenant, subject, key):
            await idle(session)
            try:
                response = await self._file(session, ctx, req, checked, key, digest)
            except IntegrityError:
                # The key was used before (a retry, or another copy of the service a moment ago):
                # the filing rolled back, and the first answer is given again.
                await idle(session)
                stored = await idempotency.stored_response(session, ctx.tenant, subject, key, digest)
                if stored is None:
                    raise
                return stored
        return response

    def _payable(self, checked: _Validated, req: msg.SubmitApplication) -> None:
        """Paying online needs a provider (without a choice, a fee is paid at the counter)."""
        if checked.fee.total_yen > 0 and req.payment == PaymentChoice.ONLINE and not self.payments.provider.online:
            raise failure(ErrorCode.VALIDATION, "Online payment not offered", "this platform takes fees at the counter", [
                FieldError(field="$.payment", message_ja="オンラインでの支払いは、いまは使えません。窓口での支払いを選んでください。",
                           message_en="Paying online is not available now; choose to pay at the counter."),
            ])

    async def _file(
        self,
        session: AsyncSession,
        ctx: Context,
        req: msg.SubmitApplication,
        checked: _Validated,
        key: str,
        digest: str,
    ) -> bytes:
        procedure, valid, channel, applicant = checked.procedure, checked.valid, checked.channel, checked.applicant
        now = datetime.now(UTC)
        fee = checked.fee.total_yen
        # A fee to be paid online first: the application waits for it outside the staff's queue.
        status = Status.AWAITING_PAYMENT if fee > 0 and channel == Channel.ONLINE and req.payment == PaymentChoice.ONLINE else Status.RECEIVED
        app = Application(
            id=str(uuid.uuid4()),
            tenant=ctx.tenant,
            code=procedure.code,
            channel=channel,
            status=status,
            payment_state=PaymentState.AWAITING_PAYMENT if fee > 0 else None,
            applicant_subject=applicant.subject,
            applicant_name=applicant.name,
            applicant_address=applicant.address,
            applicant_birthdate=applicant.birthdate,
            filed_by=ctx.principal.subject if channel == Channel.COUNTER else None,
            answers_json=_ENCODER.encode(valid.values),
            assigned_to=None,
            due_on=due_on(now, procedure.processing_days),
            fee_yen=checked.fee.total_yen,
            lat=req.location.lat if req.location else None,
            long=req.location.long if req.location else None,
            address_string=req.location.address_string if req.location else None,
            submitted_at=now,
            updated_at=now,
        )
        event = msg.ApplicationSubmitted(
            event_id=str(uuid.uuid4()), tenant=ctx.tenant, application_id=app.id, code=app.code,
            channel=channel, applicant_subject=app.applicant_subject, at=now,
            applicant_acr=ctx.principal.acr if channel == Channel.ONLINE else None, due_on=app.due_on)
        app.receipt = await self.signer.sign(session, self.receipt_claims(app, procedure, valid))
        answer: list[bytes] = []

        def with_reference(reference: str) -> Rows:
            """The rows that carry the reference the filer gives (in its batch's transaction)."""
            app.reference = reference
            answer[:] = [_ENCODER.encode(msg.Submitted(application=summary(app, procedure), receipt=app.receipt))]
            submitted = msgspec.structs.replace(event, reference=reference)
            return Rows(
                applications=[app],
                outbox=[new_event(OutboxRow, ctx.tenant, subjects.event(ctx.tenant, "application", "submitted"),
                                  _ENCODER.encode(submitted), submitted.event_id)],
                idempotency=[idempotency.record(ctx.tenant, ctx.principal.subject, key, digest, answer[0])],
            )

        rows = Rows(
            attachments=[
                AttachmentRow(tenant=ctx.tenant, application_id=app.id, field=a.field, filename=a.filename,
                              media_type=a.media_type, size=a.size, sha256=a.sha256, content=a.content)
                for a in valid.attachments
            ],
            payments=[payment_row(ctx.tenant, app.id, fee, PaymentChoice.ONLINE if status == Status.AWAITING_PAYMENT else PaymentChoice.COUNTER, now)]
            if fee > 0 else [],
            status_changes=[StatusChangeRow(
                tenant=ctx.tenant, application_id=app.id, from_status=None, to_status=status,
                actor=ctx.principal.subject, actor_role=channel, actor_name=workflow.actor_name(ctx.principal), at=now,
                comment=counter_codes.LINKED if channel == Channel.COUNTER and app.applicant_subject else "")],
        )
        await idle(session)
        numbering = Numbering(prefix=self.prefixes[ctx.tenant], year=now.astimezone(TOKYO).year, rows=with_reference)
        await self.filer.file(Filing(tenant=ctx.tenant, rows=rows, numbering=numbering))
        return answer[0]

    async def _load(self, ctx: Context, application_id: str, lock: bool = False,
                    session: AsyncSession | None = None) -> tuple[Application, str]:
        """The application and the caller's role towards it; 404 for anything not theirs to see
        (read in ``session``, by default the request's)."""
        role = role_of(ctx.principal, ctx.tenant)
        query = select(Application).where(Application.tenant == ctx.tenant, Application.id == application_id)
        if lock:
            query = query.with_for_update()  # PostgreSQL: concurrent moves of one application queue up
        app = (await (session or ctx.session).execute(query)).scalar_one_or_none()
        if app is None or (role == workflow.RESIDENT and app.applicant_subject != ctx.principal.subject):
            # Another resident's application is reported as absent, not as forbidden.
            raise failure(ErrorCode.NOT_FOUND, "No such application", "there is no such application here")
        return app, role

    async def _detail(self, ctx: Context, app: Application, role: str) -> msg.ApplicationDetail:
        history = (
            await ctx.session.execute(
                select(StatusChangeRow)
                .where(StatusChangeRow.tenant == ctx.tenant, StatusChangeRow.application_id == app.id)
                .order_by(StatusChangeRow.id)
            )
        ).scalars().all()
        procedure = await self.procedure(ctx, app.code)
        files = (
            await ctx.session.execute(
                select(AttachmentRow.field, AttachmentRow.filename, AttachmentRow.media_type, AttachmentRow.size,
                       AttachmentRow.sha256)
                .where(AttachmentRow.tenant == ctx.tenant, AttachmentRow.application_id == app.id)
                .order_by(AttachmentRow.id)
            )
        ).all()
        payment = await payment_of(ctx.session, ctx.tenant, app.id) if app.payment_state else None
        return msg.ApplicationDetail(
            summary=summary(app, procedure),
            attachments=[msg.AttachmentInfo(field=f, filename=n, media_type=t, size=z, sha256=h) for f, n, t, z, h in files],
            answers=msgspec.json.decode(app.answers_json),
            filed_by=app.filed_by,
            history=[
                msg.StatusChange(seq=r.seq, from_status=r.from_status, to_status=r.to_status, actor=r.actor,
                                 actor_role=r.actor_role, actor_name=r.actor_name or "", comment=r.comment, at=utc(r.at))
                for r in history
            ],
            allowed_transitions=workflow.allowed(procedure.workflow, app.status, role),
            payment=shown(payment, app.payment_state, self.payments.provider.online)
            if payment is not None else None,
        )

    async def get(self, ctx: Context, req: msg.GetApplication) -> msg.ApplicationDetail:
        app, role = await self._load(ctx, req.id)
        detail = await self._detail(ctx, app, role)
        if role == workflow.STAFF:
            await self._audit_staff_read(ctx, app)
        return detail

    async def receipt(self, ctx: Context, req: msg.GetApplication) -> msg.Receipt:
        app, role = await self._load(ctx, req.id)
        if app.receipt is None:
            raise failure(ErrorCode.NOT_FOUND, "No receipt", "this application has no receipt")
        receipt = msg.Receipt(application_id=app.id, receipt=app.receipt)
        if role == workflow.STAFF:
            await self._audit_staff_read(ctx, app)
        return receipt

    async def document(self, ctx: Context, req: msg.GetApplication) -> msg.IssuedDocument:
        app, role = await self._load(ctx, req.id)
        if app.document is None:
            raise failure(ErrorCode.NOT_FOUND, "Not issued", "no document has been issued for this application")
        token = app.document
        issued = _CLAIMS.decode(jws.extract_compact(token.encode()).payload)
        result = msg.IssuedDocument(
            application_id=app.id, document=token, html=documents.printable(issued, token, "/api/v1/verify")
        )
        if role == workflow.STAFF:
            await self._audit_staff_read(ctx, app)
        return result

    async def attachment(self, ctx: Context, req: msg.GetAttachment) -> Upload:
        """A filed file, put into the uploads bucket for this caller alone to fetch."""
        app, role = await self._load(ctx, req.id)
        row = (await ctx.session.execute(
            select(AttachmentRow).where(
                AttachmentRow.tenant == ctx.tenant, AttachmentRow.application_id == app.id, AttachmentRow.field == req.field)
        )).scalar_one_or_none()
        if row is None:
            raise failure(ErrorCode.NOT_FOUND, "No such attachment", f"this application has no file for {req.field!r}")
        handed = await self.files.put(ctx.tenant, ctx.principal.subject, row.filename, row.media_type, row.content, row.size)
        if role == workflow.STAFF:
            await self._audit_staff_read(ctx, app)
        return handed

    async def _audit_staff_read(self, ctx: Context, app: Application) -> None:
        """A staff member read a resident's record: recorded like every other audit entry.

        Call it after the reply is built: ending the read's transaction expires what it loaded.
        """
        record = AuditRecord(
            at=datetime.now(UTC), kind="staff_read", tenant=ctx.tenant, actor=ctx.principal.subject,
            actor_tenant=ctx.principal.tenant, roles=ctx.principal.roles, action=f"read application {app.id}",
            detail=f"applicant {app.applicant_subject or app.applicant_name}", trace_id=ctx.trace_id,
        )
        await idle(ctx.session)
        async with ctx.session.begin():
            ctx.session.add(new_event(OutboxRow, ctx.tenant, subjects.audit(ctx.tenant, "staff_read"), _ENCODER.encode(record)))
        self.relay.notify(ctx.tenant)

    async def list(self, ctx: Context, req: msg.ListApplications) -> msg.ApplicationList:
        role = role_of(ctx.principal, ctx.tenant)
        query = select(Application).where(Application.tenant == ctx.tenant)
        if role == workflow.RESIDENT:
            query = query.where(Application.applicant_subject == ctx.principal.subject)
        if req.status is not None:
            query = query.where(Application.status == req.status)
        elif role == workflow.STAFF:
            # The queue is what the town has to work on: a fee still to be paid online is not yet.
            query = query.where(Application.status != Status.AWAITING_PAYMENT)
        if req.channel is not None:
            query = query.where(Application.channel == req.channel)
        if req.code is not None:
            query = query.where(Application.code == req.code)
        if req.reference is not None:
            if not is_reference(req.reference):
                raise failure(ErrorCode.VALIDATION, "Not a reference", "a reference is KTK-2026-000123-4, its last digit a check", [
                    FieldError(field="$.reference",
                               message_ja="受付番号の形か最後の確認数字が合いません。番号をもう一度確かめてください（例: KTK-2026-000123-4）。",
                               message_en="The reference's form or its check digit is wrong; check it again (e.g. KTK-2026-000123-4)."),
                ])
            query = query.where(Application.reference == normalise_reference(req.reference))
        rows = (await ctx.session.execute(query.order_by(Application.submitted_at.desc()).limit(req.limit))).scalars().all()
        names = {}
        for code in {r.code for r in rows}:
            names[code] = await self.procedure(ctx, code)
        return msg.ApplicationList(items=[summary(r, names.get(r.code)) for r in rows])

    async def transition(self, ctx: Context, req: msg.Transition) -> msg.ApplicationDetail:
        session = ctx.session
        await idle(session)
        async with session.begin():
            app, role = await self._load(ctx, req.id, lock=True)
            procedure = await self.procedure(ctx, app.code)
            allowed = workflow.allowed(procedure.workflow, app.status, role)
            if req.to not in allowed:
                raise failure(
                    ErrorCode.CONFLICT,
                    "Transition not allowed",
                    f"from {app.status!r} you may move to: {', '.join(allowed) or 'nothing'}",
                )
            answers = msgspec.json.decode(app.answers_json)
            if req.answers:
                if not (role == workflow.RESIDENT and app.status == Status.NEEDS_INFO):
                    raise failure(
                        ErrorCode.VALIDATION, "Answers not expected", "answers go with a reply to a request for information"
                    )
                filed = {f.name: answers[f.name] for f in procedure.fields if f.kind == "attachment" and f.name in answers}
                uploaded = await read_uploads(self.files, ctx.tenant, ctx.principal.subject, procedure.fields, req.answers)
                valid = validate_answers(procedure.fields, {**answers, **req.answers}, uploaded, kept=filed)
                answers = valid.values
                # A file sent with the reply replaces the one filed for its field.
                for a in valid.attachments:
                    await session.execute(delete(AttachmentRow).where(
                        AttachmentRow.tenant == ctx.tenant, AttachmentRow.application_id == app.id, AttachmentRow.field == a.field))
                    session.add(AttachmentRow(tenant=ctx.tenant, application_id=app.id, field=a.field, filename=a.filename,
                                              media_type=a.media_type, size=a.size, sha256=a.sha256, content=a.content))
            now = datetime.now(UTC)
            from_status, app.status, app.updated_at = app.status, req.to, now
            app.answers_json = _ENCODER.encode(answers)
            if req.assign_to is not None and role == workflow.STAFF:
                app.assigned_to = req.assign_to
            if req.to == Status.ISSUED:
                town = self.region.town(ctx.tenant)
                assert town is not None, "a town the service does not know"
                issued = documents.claims(
                    town=town, procedure=procedure, application_id=app.id, applicant_name=app.applicant_name,
                    answers=answers, answers_sha256=digest(answers),
                )
                app.document = await self.signer.sign(session, issued)
            await self.payments.decided(session, app, req.to, now)
            session.add(StatusChangeRow(
                tenant=ctx.tenant, application_id=app.id, from_status=from_status, to_status=req.to,
                actor=ctx.principal.subject, actor_role=role, actor_name=workflow.actor_name(ctx.principal), comment=req.comment, at=now))
            event = msg.ApplicationStatusChanged(
                event_id=str(uuid.uuid4()), tenant=ctx.tenant, application_id=app.id, code=app.code,
                channel=app.channel, applicant_subject=app.applicant_subject,
                from_status=from_status, to_status=req.to, at=now,
                submitted_at=utc(app.submitted_at), due_on=app.due_on,
                counter_visit=req.counter_visit and role == workflow.STAFF, reference=app.reference,
                # Only staff speak to the applicant through the message: a resident's own words stay in the history.
                comment=req.comment if role == workflow.STAFF else "")
            session.add(new_event(OutboxRow, ctx.tenant, subjects.event(ctx.tenant, "application", "status_changed"),
                                  _ENCODER.encode(event), event.event_id))
        self.committed(ctx.tenant)
        if app.payment_state and req.to in DECLINED:
            await self.payments.after_decision(session, ctx.tenant, app.id)
            app, role = await self._load(ctx, req.id)
        return await self._detail(ctx, app, role)


def register(app: ServiceApp[Any], applications: Applications) -> None:
    app.endpoint(msg.SUBMIT, msg.SubmitApplication)(applications.submit)
    app.endpoint(msg.CHECK, msg.SubmitApplication, read_only=True)(applications.check)
    app.endpoint(PREFILL, Prefill, read_only=True)(applications.prefill)
    app.endpoint(msg.LIST, msg.ListApplications, read_only=True)(applications.list)
    app.endpoint(msg.GET, msg.GetApplication)(applications.get)
    app.endpoint(msg.TRANSITION, msg.Transition)(applications.transition)
    app.endpoint(msg.RECEIPT, msg.GetApplication)(applications.receipt)
    app.endpoint(msg.DOCUMENT, msg.GetApplication)(applications.document)
    app.endpoint(msg.ATTACHMENT, msg.GetAttachment)(applications.attachment)
